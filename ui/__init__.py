"""The Qt desktop app: views of the engine's stages, driven by one state object."""
