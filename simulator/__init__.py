"""The transformer engine: every stage of a forward pass in NumPy, named, lazy and editable.

    import simulator
    model = simulator.load("toy")                 # a preset name, or a path
    trace = model.trace("a fluffy blue creature") # or a list of token ids
    trace["blocks.0.attn.pattern"]                # computed on first access
    model.stage_ids()                             # every stage id, in forward order
    model.set_param("blocks.0.attn.W_Q", 0.5, index=(0, 2, 3))

This package never imports Qt, pyqtgraph, torch or transformers.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from simulator.config import ModelConfig
from simulator.errors import (
    ConfigError,
    ModelFileError,
    ParamError,
    SimulatorError,
    TextError,
    UnknownStageError,
)
from simulator.model import Model, ModelInfo, ModelLabels
from simulator.model_file import load_model, save_model
from simulator.paths import check_path_name, shown
from simulator.presets import build_preset, default_preset, list_presets, preset_names
from simulator.stages import StageSpec, param_shapes
from simulator.tokenizer import Encoding, Tokenizer, WordTokenizer
from simulator.trace import Stage, Trace

__all__ = [
    "ConfigError", "Encoding", "Model", "ModelConfig", "ModelFileError", "ModelInfo", "ModelLabels",
    "ParamError", "SimulatorError", "Stage", "StageSpec", "TextError", "Tokenizer", "Trace",
    "UnknownStageError", "WordTokenizer", "build_preset", "default_preset", "list_presets", "load",
    "load_model", "param_shapes", "preset_names", "save_model",
]


#: files found inside a Hugging Face checkpoint folder (the folder is what loads)
_CHECKPOINT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_CHECKPOINT_FILES = ("config.json", "tokenizer.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer_config.json")


def load(name_or_path: str | os.PathLike[str]) -> Model:
    """A preset by name, a saved ``.npz`` model, or a Hugging Face checkpoint folder."""
    text = os.fspath(name_or_path)
    if isinstance(name_or_path, str) and text in preset_names():
        return build_preset(text)
    text = check_path_name(text, "cannot open the model")
    path = Path(text).expanduser()
    try:
        kind = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        kind = None
    except OSError as exc:
        raise ModelFileError(f"cannot open {shown(text)}: {exc.strerror or exc}") from exc
    if kind is not None and stat.S_ISDIR(kind):
        from simulator.checkpoints import load_checkpoint

        return load_checkpoint(path)
    if kind is not None and not stat.S_ISREG(kind):  # never read a device or a pipe: /dev/zero never ends
        raise ModelFileError(f"{shown(text)} is not a model file or folder (it is a device, pipe or socket)")
    if kind is not None:
        inside_checkpoint = (path.parent / "config.json").is_file()
        if inside_checkpoint and (path.suffix.lower() in _CHECKPOINT_SUFFIXES or path.name.lower() in _CHECKPOINT_FILES):
            raise ModelFileError(
                f"{path.name} is one file of a checkpoint: open the folder that holds it instead ({path.parent})"
            )
        return load_model(path)
    if isinstance(name_or_path, str) and os.sep not in text and not path.suffix:
        raise SimulatorError(f"unknown preset {text!r}; available: {', '.join(preset_names())}")
    raise ModelFileError(f"no such file or folder: {shown(text)}")
