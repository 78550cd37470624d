"""Open Hugging Face checkpoint folders: GPT-2 and BERT-family (including sentence-transformers).

    from simulator.checkpoints import load_checkpoint
    model = load_checkpoint("path/to/gpt2", progress=lambda f, msg: ..., cancelled=lambda: False)

A folder holds ``config.json`` (its ``model_type`` picks the loader), ``model.safetensors`` (or
shards with ``model.safetensors.index.json``) and a tokenizer (``tokenizer.json``, or GPT-2's
``vocab.json`` + ``merges.txt``, or BERT's ``vocab.txt``). Weights are read with safetensors'
NumPy API and tokenised with the ``tokenizers`` library; torch and transformers are never used.

Anything wrong with the folder raises :class:`~simulator.errors.ModelFileError` naming the file
or tensor at fault; a ``cancelled()`` that returns True raises :class:`LoadCancelled`. Either
way nothing global changes, so a caller's current model stays as it was. ``progress`` and
``cancelled`` are plain callables and may be called from a worker thread.
"""

from __future__ import annotations

import os
from pathlib import Path

from simulator.checkpoints import bert, gpt2
from simulator.checkpoints.common import Cancelled, LoadCancelled, Monitor, Progress, read_json
from simulator.checkpoints.hf_tokenizer import HFTokenizer
from simulator.errors import ModelFileError
from simulator.model import Model

__all__ = ["HFTokenizer", "LoadCancelled", "SUPPORTED_MODEL_TYPES", "checkpoint_type", "load_checkpoint"]

#: ``model_type`` values in ``config.json`` this package can open.
SUPPORTED_MODEL_TYPES = ("gpt2", "bert")


def _resolve(folder: Path) -> tuple[Path, bert.SentenceSetup | None]:
    """The folder holding config.json, and the sentence-transformers setup if there is one."""
    setup = bert.sentence_setup(folder)
    inner = folder / setup.transformer_path if setup is not None and setup.transformer_path else folder
    return inner, setup


def folder_name(folder: Path) -> str:
    """The folder's own name for messages, also for ``.`` or ``..`` (whose ``name`` is empty or ``..``)."""
    return Path(os.path.abspath(folder)).name or str(folder)


def checkpoint_type(path: str | os.PathLike[str]) -> str:
    """The supported ``model_type`` of a checkpoint folder, or a :class:`ModelFileError` saying why not.

    Cheap (reads only the small JSON files), so a file dialog can check a folder before loading.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ModelFileError(f"{folder} is not a folder")
    inner, _ = _resolve(folder)
    config_path = inner / "config.json"
    if not config_path.is_file():
        raise ModelFileError(
            f"{folder_name(folder)} is not a model folder this app can open: it has no config.json "
            "(a Hugging Face checkpoint folder holds config.json, model.safetensors and tokenizer files)"
        )
    model_type = read_json(config_path).get("model_type")
    if not isinstance(model_type, str):
        raise ModelFileError(f"{folder_name(folder)}: config.json does not say which model_type it is")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ModelFileError(
            f"{folder_name(folder)}: model_type {model_type!r} is not supported; this app opens GPT-2 ('gpt2') "
            "and BERT-family ('bert', e.g. all-MiniLM-L6-v2) checkpoints"
        )
    return model_type


def load_checkpoint(
    path: str | os.PathLike[str],
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Model:
    """Load a GPT-2 or BERT-family checkpoint folder as a :class:`Model`.

    ``progress(fraction, message)`` is called as loading goes on (fraction 0 → 1);
    ``cancelled()`` is polled between tensors and stops the load with :class:`LoadCancelled`
    when it returns True.
    """
    monitor = Monitor(progress, cancelled)
    folder = Path(path).expanduser()
    monitor.report(0.0, "reading config.json")
    model_type = checkpoint_type(folder)
    inner, setup = _resolve(folder)
    raw = read_json(inner / "config.json")
    try:
        if model_type == "gpt2":
            model = gpt2.load(inner, raw, monitor)
        else:
            model = bert.load(inner, raw, monitor, setup, root=folder)
    except ModelFileError as exc:
        raise ModelFileError(f"{folder_name(folder)}: {exc}") from exc
    monitor.report(0.99, "preparing the attention weights")
    model.prepare_weights()
    monitor.report(1.0, "done")
    return model
