"""``tiny-trained``: a small transformer that learned English-like sentences by itself.

The weights, vocabulary, head names, description and per-stage notes all live in
``resources/presets/tiny-trained.npz``, written by ``python -m simulator.training`` (see
:mod:`simulator.training.tiny` for the recipe). The description quotes the accuracy measured when
the file was made, so :data:`INFO` is read from the file's small JSON member, without loading
the weights, whenever the preset list is shown.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace

import numpy as np

from resources import RESOURCES_DIR
from simulator.errors import ModelFileError
from simulator.model import Model, ModelInfo
from simulator.model_file import META_KEY, load_model

ORDER = 30
NAME = "tiny-trained"
WEIGHTS_PATH = RESOURCES_DIR / "presets" / "tiny-trained.npz"

_FALLBACK = ModelInfo(
    name=NAME,
    title="Tiny trained (learned by itself)",
    description=(
        "A small transformer trained from random weights on sentences from a tiny English grammar. "
        "Its weights file is missing: run `python -m simulator.training` to make it."
    ),
    suggested=("the cat walks by the bank to find fish",),
    source="preset:tiny-trained",
)


def _read_info() -> ModelInfo:
    """The description stored in the weights file, or a placeholder if the file cannot be read."""
    try:
        with zipfile.ZipFile(WEIGHTS_PATH) as archive, archive.open(META_KEY + ".npy") as member:
            raw = np.lib.format.read_array(member, allow_pickle=False)
        info = ModelInfo.from_dict(json.loads(raw.tobytes().decode("utf-8"))["info"])
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return _FALLBACK
    if info.name != NAME:
        return _FALLBACK
    # the file says how it was made ("preset:tiny-trained (python -m simulator.training)"); as a
    # preset its source is exactly "preset:<name>", which New session and the Model menu rely on
    return replace(info, source=f"preset:{NAME}")


#: notes the weights file was made with, restated so that they claim only what is true of the
#: model (the file's own words are kept for every other stage)
NOTE_FIXES = {
    "pos_embed": (
        "Learned position vectors: the one for position p is added to whatever word sits there. "
        "Every training window began with a sentence, so position 0 always held a first word; "
        "the sentences after it in the window started wherever the one before ended."
    ),
    "ln1": (
        "Each token's vector is shifted to mean 0 and scaled to spread 1, then multiplied by the "
        "learned γ and shifted by the learned β, one pair per dimension."
    ),
    "attn.scores": (
        "Raw matches of queries and keys; in layer 1 head 3 the 'find' query peaks at the subject noun."
    ),
    "attn.pattern": (
        "Each query's weights sum to 1. Look at layer 1 head 3 (find → subject): it is sharp where "
        "the grammar needs context, blurry elsewhere."
    ),
}


def _with_fixed_notes(info: ModelInfo) -> ModelInfo:
    if info is _FALLBACK:
        return info
    return replace(info, notes={**info.notes, **{k: v for k, v in NOTE_FIXES.items() if k in info.notes}})


INFO = _with_fixed_notes(_read_info())


def build() -> Model:
    if not WEIGHTS_PATH.is_file():
        raise ModelFileError(f"the tiny-trained weights are missing ({WEIGHTS_PATH}); run: python -m simulator.training")
    model = load_model(WEIGHTS_PATH)
    return Model(model.config, model.params, model.tokenizer, model.labels, INFO)
