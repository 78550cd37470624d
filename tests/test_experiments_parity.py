"""``simulator.experiments`` against PyTorch doing the same on the tiny GPT-2 and BERT checkpoints.

``tests/fixtures/parity/{gpt2,bert}-tiny-experiments.npz`` (made by the dev-only
``tests/fixtures/make_experiment_fixtures.py``) hold what PyTorch's forward hooks give when one
head's slice is zeroed before the attention output projection, and when one block's output at
one position is replaced by the same block's output for another sentence of the same length;
for GPT-2 also transformers' own ``ln_f`` and ``lm_head`` applied to the residual stream (the
logit lens). The engine does the same with ``Ablate`` / ``Patch`` / ``logit_lens``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator import experiments as ex

FIXTURES = Path(__file__).parent / "fixtures"
ATOL = 1e-5


def fixture(name: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "parity" / f"{name}-experiments.npz") as z:
        return {key: z[key] for key in z.files}


def close(got: np.ndarray, ref: np.ndarray, what: str) -> None:
    assert got.shape == ref.shape, what
    scale = max(1.0, float(np.max(np.abs(ref))))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=ATOL * scale, err_msg=what)


@pytest.fixture(scope="module", params=["gpt2-tiny", "bert-tiny"])
def checkpoint(request: pytest.FixtureRequest) -> tuple[str, simulator.Model, dict[str, np.ndarray]]:
    name = request.param
    return name, simulator.load(FIXTURES / "checkpoints" / name), fixture(name)


def output_stage(name: str, layer: int) -> str:
    """A block's output: resid_post in GPT-2 (pre-LN), the second LayerNorm in BERT (post-LN)."""
    return f"blocks.{layer}.resid_post" if name.startswith("gpt2") else f"blocks.{layer}.ln2"


def test_zeroing_a_head_before_the_output_projection_matches_pytorch(checkpoint) -> None:
    name, model, ref = checkpoint
    layer, head = int(ref["ablate.layer"]), int(ref["ablate.head"])
    clean = ref["clean_ids"].tolist()
    tr = model.trace(clean, interventions=[ex.Ablate(f"blocks.{layer}.attn.z", head=head)])
    plain = model.trace(clean)
    for l in range(model.config.n_layers):
        stage = output_stage(name, l)
        close(tr[stage], ref[f"ablate.{stage}"], stage)
        assert not np.allclose(plain[stage], ref[f"ablate.{stage}"], atol=1e-3), "the ablation changed nothing"
    if "ablate.logits" in ref:
        close(tr["logits"], ref["ablate.logits"], "logits")


def test_replacing_a_block_output_at_one_position_matches_pytorch(checkpoint) -> None:
    name, model, ref = checkpoint
    layer, position = int(ref["patch.layer"]), int(ref["patch.position"])
    source = model.trace(ref["corrupted_ids"].tolist())
    stage = output_stage(name, layer)
    tr = model.trace(ref["clean_ids"].tolist(), interventions=[ex.Patch(stage, source=source, position=position)])
    for l in range(model.config.n_layers):
        out = output_stage(name, l)
        close(tr[out], ref[f"patch.{out}"], out)
    if "patch.logits" in ref:
        close(tr["logits"], ref["patch.logits"], "logits")
        plain = model.trace(ref["clean_ids"].tolist())
        assert not np.allclose(plain["logits"][position:], ref["patch.logits"][position:], atol=1e-3)


def test_the_logit_lens_matches_transformers_final_norm_and_unembedding() -> None:
    model = simulator.load(FIXTURES / "checkpoints" / "gpt2-tiny")
    ref = fixture("gpt2-tiny")
    tr = model.trace(ref["clean_ids"].tolist())
    lens = ex.logit_lens(tr)
    assert sorted(lens) == sorted(k.removeprefix("lens.") for k in ref if k.startswith("lens."))
    for stage, logits in lens.items():
        close(logits, ref[f"lens.{stage}"], stage)
    close(list(lens.values())[-1], ref["logits"], "logits")


def test_attribution_of_the_pytorch_logit_sums_to_it() -> None:
    model = simulator.load(FIXTURES / "checkpoints" / "gpt2-tiny")
    ref = fixture("gpt2-tiny")
    tr = model.trace(ref["clean_ids"].tolist())
    token = int(np.argmax(ref["logits"][-1]))
    parts = ex.logit_attribution(tr, token=token)
    np.testing.assert_allclose(sum(parts.values()), ref["logits"][-1, token], rtol=1e-5, atol=1e-5)
