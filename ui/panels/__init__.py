"""The app's panels, one per module."""
