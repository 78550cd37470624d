"""Opening Hugging Face checkpoint folders: layouts, tokenizers, readable pieces, and every way a
folder can be wrong (each must give a :class:`ModelFileError` naming what is wrong).

Stage-by-stage agreement with PyTorch is in ``test_parity.py``; here the loaded models are
compared with the model loaded from the untouched fixture folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import simulator
from simulator.checkpoints import HFTokenizer, LoadCancelled, checkpoint_type, load_checkpoint
from simulator.checkpoints.common import WeightFile
from simulator.errors import ModelFileError, TextError
from simulator.model_file import load_model, save_model
from simulator.tokenizer import tokenizer_from_spec

CHECKPOINTS = Path(__file__).parent / "fixtures" / "checkpoints"
GPT2 = CHECKPOINTS / "gpt2-tiny"
BERT = CHECKPOINTS / "bert-tiny"
TEXTS = (
    "The cat sat on the river bank.",
    "The bankers watched the boats.",
    "  two  spaces,\nnew line\tand tab",
    "Zebras quizzically jump! Ünïcödé 🙂 日本",
    "A fluffy blue creature sang.",
)


@pytest.fixture(scope="module")
def gpt2() -> simulator.Model:
    return simulator.load(GPT2)


@pytest.fixture(scope="module")
def bert() -> simulator.Model:
    return simulator.load(BERT)


def copy_folder(source: Path, target: Path, without: tuple[str, ...] = ()) -> Path:
    shutil.copytree(source, target)
    for name in without:
        (target / name).unlink()
    return target


def rewrite_weights(folder: Path, change) -> None:
    """Apply ``change(tensors) -> tensors`` to a folder's model.safetensors."""
    tensors = change(load_file(folder / "model.safetensors"))
    save_file(tensors, str(folder / "model.safetensors"))


def final_stage(model: simulator.Model, text: str) -> np.ndarray:
    return model.trace(text)[model.stage_ids()[-1]]


# -- what gets loaded ------------------------------------------------------------------------------
def test_gpt2_config_comes_from_config_json(gpt2: simulator.Model) -> None:
    c = gpt2.config
    assert (c.d_model, c.n_heads, c.d_head, c.n_layers, c.d_mlp, c.vocab_size, c.n_ctx) == (32, 4, 8, 2, 128, 400, 64)
    assert c.act == "gelu_tanh" and c.norm == "pre" and c.causal and c.positional == "learned"
    assert c.ln_eps == pytest.approx(1e-4)
    assert c.unembed and c.n_token_types == 0 and not c.embed_norm and c.pooling == "none"


def test_gpt2_unembedding_is_the_tied_token_embedding(gpt2: simulator.Model) -> None:
    np.testing.assert_array_equal(gpt2.params["unembed.W_U"], gpt2.params["embed.W_E"].T)
    assert not np.any(gpt2.params["unembed.b_U"])


def test_gpt2_heads_are_cut_from_c_attn_in_order(gpt2: simulator.Model) -> None:
    raw = load_file(GPT2 / "model.safetensors")
    w, b = raw["transformer.h.1.attn.c_attn.weight"], raw["transformer.h.1.attn.c_attn.bias"]
    # head 2's keys are columns d_model + 2·d_head … d_model + 3·d_head of the fused weight
    np.testing.assert_array_equal(gpt2.params["blocks.1.attn.W_K"][2], w[:, 32 + 16:32 + 24])
    np.testing.assert_array_equal(gpt2.params["blocks.1.attn.b_V"][3], b[64 + 24:64 + 32])
    np.testing.assert_array_equal(
        gpt2.params["blocks.1.attn.W_O"].reshape(32, 32), raw["transformer.h.1.attn.c_proj.weight"]
    )


def test_bert_config_comes_from_config_json(bert: simulator.Model) -> None:
    c = bert.config
    assert (c.d_model, c.n_heads, c.n_layers, c.d_mlp, c.vocab_size, c.n_ctx, c.n_token_types) == (32, 4, 2, 64, 300, 64, 2)
    assert c.act == "gelu" and c.norm == "post" and not c.causal and c.embed_norm and not c.unembed
    assert c.ln_eps == pytest.approx(1e-12)
    assert c.pooling == "mean" and "pooled" in bert.graph and "logits" not in bert.graph


def test_bert_linear_weights_are_transposed(bert: simulator.Model) -> None:
    raw = load_file(BERT / "model.safetensors")
    np.testing.assert_array_equal(bert.params["blocks.0.mlp.W_in"], raw["encoder.layer.0.intermediate.dense.weight"].T)
    query = raw["encoder.layer.0.attention.self.query.weight"]  # [out = head·d_head, in]
    np.testing.assert_array_equal(bert.params["blocks.0.attn.W_Q"][1], query[8:16].T)


def test_loaded_weights_are_read_only_and_still_editable(gpt2: simulator.Model) -> None:
    model = simulator.load(GPT2)
    assert not model.params["embed.W_E"].flags.writeable
    before = model.trace("The cat sat")["logits"]
    model.set_param("blocks.0.attn.W_Q", 0.7, index=(0, 1, 2))
    after = model.trace("The cat sat")["logits"]
    assert not np.array_equal(before, after)
    assert model.params["blocks.0.attn.W_Q"][0, 1, 2] == pytest.approx(0.7)


def test_model_adopts_a_loaders_arrays_without_copying() -> None:
    """The engine change that lets a 124 M parameter checkpoint load without a second copy:
    a loader hands its arrays over (``adopt=True``); arrays from anyone else are copied (issue 12:
    a caller's read-only array can be switched writable again by its owner)."""
    toy = simulator.load("toy")
    params = {name: np.array(value) for name, value in toy.params.items()}
    model = simulator.Model(toy.config, params, toy.tokenizer, adopt=True)
    assert np.shares_memory(model.params["embed.W_E"], params["embed.W_E"])
    owned = params["embed.W_E"].copy()
    owned.flags.writeable = False
    model.set_param("embed.W_E", owned)
    assert not np.shares_memory(model.params["embed.W_E"], owned)
    writable = owned.copy()
    model.set_param("embed.W_E", writable)
    assert not np.shares_memory(model.params["embed.W_E"], writable)
    writable[0, 0] = 123.0
    assert model.params["embed.W_E"][0, 0] != 123.0


def test_info_describes_the_checkpoint(gpt2: simulator.Model, bert: simulator.Model) -> None:
    assert gpt2.info.name == "gpt2-tiny" and "GPT-2" in gpt2.info.title
    assert "2 layers" in gpt2.info.description
    assert "40,320 parameters" in gpt2.info.description  # as stored: no second W_U, no b_U
    assert bert.info.suggested and "pooler.*" in bert.info.description
    assert bert.info.notes["pooled"]


# -- tokenizers --------------------------------------------------------------------------------------
def test_gpt2_vocab_and_merges_give_the_same_ids_as_tokenizer_json(tmp_path: Path, gpt2: simulator.Model) -> None:
    folder = copy_folder(GPT2, tmp_path / "gpt2", without=("tokenizer.json",))
    model = simulator.load(folder)
    for text in TEXTS + ("end<|endoftext|>start",):
        assert model.encode(text).ids == gpt2.encode(text).ids, text
    np.testing.assert_array_equal(final_stage(model, TEXTS[0]), final_stage(gpt2, TEXTS[0]))
    assert model.tokenizer.encode("<|endoftext|>").ids == (399,)


def test_bert_vocab_txt_gives_the_same_ids_as_tokenizer_json(tmp_path: Path, bert: simulator.Model) -> None:
    folder = copy_folder(BERT, tmp_path / "bert", without=("tokenizer.json",))
    model = simulator.load(folder)
    for text in TEXTS + ("a [MASK] in [SEP] the",):
        assert model.encode(text).ids == bert.encode(text).ids, text
        assert model.encode(text).unknown == bert.encode(text).unknown
    np.testing.assert_array_equal(final_stage(model, TEXTS[1]), final_stage(bert, TEXTS[1]))


def test_subword_pieces_are_shown_readably_and_raw_pieces_stay_available(gpt2: simulator.Model, bert: simulator.Model) -> None:
    enc = gpt2.encode("The bankers sat\non")
    raw = [gpt2.tokenizer.id_to_token(i) for i in enc.ids]
    assert raw == list(enc.tokens)
    shown = [gpt2.tokenizer.display(t) for t in enc.tokens]
    assert "Ġbank" in raw and "␣bank" in shown and "er" in shown
    assert "Ċ" in raw and "↵" in shown
    assert gpt2.tokenizer.display("ĠĠ") == "␣␣"
    assert gpt2.tokenizer.display("Ã") == "\\xc3"  # one byte of a two-byte character
    assert gpt2.tokenizer.display("<|endoftext|>") == "<|endoftext|>"
    pieces = bert.encode("The bankers").tokens
    assert pieces == ("[CLS]", "the", "bank", "##er", "##s", "[SEP]")
    assert [bert.tokenizer.display(t) for t in pieces] == ["[CLS]", "the", "bank", "…er", "…s", "[SEP]"]
    trace = bert.trace("The bankers")
    assert trace.stage("embed").axis_labels[0] == ("[CLS]", "the", "bank", "…er", "…s", "[SEP]")


def test_wordpiece_reports_unknown_words_with_the_text_typed(bert: simulator.Model) -> None:
    enc = bert.encode("The zebra sat")
    unk = bert.tokenizer.token_to_id("[UNK]")
    assert enc.tokens == ("[CLS]", "the", "[UNK]", "sat", "[SEP]")
    assert enc.unknown == (2,) and enc.unknown_text == ("zebra",)
    assert enc.ids[2] == unk
    assert bert.encode("the [UNK] sat").unknown == ()  # typed on purpose: a special token


def test_byte_level_bpe_never_has_unknown_pieces(gpt2: simulator.Model) -> None:
    for text in TEXTS:
        enc = gpt2.encode(text)
        assert enc.unknown == () and gpt2.tokenizer.decode(enc.ids) == text


def test_bert_special_tokens_count_toward_the_context(bert: simulator.Model) -> None:
    assert len(bert.encode("the " * 62).ids) == 64
    with pytest.raises(TextError, match="at most 64"):
        bert.encode("the " * 63)
    with pytest.raises(TextError, match="empty"):
        bert.encode("   ")
    assert bert.tokenizer.decode(bert.encode("The bankers").ids) == "the bankers"


def test_gpt2_text_longer_than_the_context_is_rejected_not_cut(gpt2: simulator.Model) -> None:
    with pytest.raises(TextError, match="at most 64"):
        gpt2.encode(" the" * 65)


def test_tokenizer_json_padding_and_truncation_are_switched_off(tmp_path: Path) -> None:
    folder = copy_folder(BERT, tmp_path / "bert")
    spec = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    spec["truncation"] = {"max_length": 4, "strategy": "LongestFirst", "stride": 0, "direction": "Right"}
    spec["padding"] = {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": None, "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}
    (folder / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    model = simulator.load(folder)
    assert len(model.encode("the cat sat on the river bank").ids) == 9


# -- saving ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("folder", [GPT2, BERT], ids=["gpt2", "bert"])
def test_a_loaded_checkpoint_saves_and_reloads_with_its_tokenizer(tmp_path: Path, folder: Path) -> None:
    model = simulator.load(folder)
    spec = model.tokenizer.to_spec()
    assert spec["kind"] == "hf" and json.loads(spec["json"])["model"]["type"] in ("BPE", "WordPiece")
    save_model(model, tmp_path / "saved.npz")
    again = load_model(tmp_path / "saved.npz")
    assert isinstance(again.tokenizer, HFTokenizer)
    for text in TEXTS:
        assert again.encode(text) == model.encode(text)
    # Same weights; the checkpoint loader's fused Q/K/V product may round in another order than
    # the saved file's, so the two agree to float32 precision (numpy 2.4's BLAS differs by 1 ulp).
    np.testing.assert_allclose(final_stage(again, TEXTS[0]), final_stage(model, TEXTS[0]), rtol=1e-5, atol=1e-6)
    assert again.tokenizer.display(again.tokenizer.id_to_token(again.encode("The bankers").ids[2])) == model.tokenizer.display(
        model.tokenizer.id_to_token(model.encode("The bankers").ids[2])
    )


def test_hf_tokenizer_specs_load_without_importing_the_checkpoints_first(tmp_path: Path) -> None:
    save_model(simulator.load(GPT2), tmp_path / "saved.npz")
    code = (
        "import sys\n"
        "from simulator.model_file import load_model\n"
        f"m = load_model({str(tmp_path / 'saved.npz')!r})\n"
        "print(type(m.tokenizer).__name__, m.encode('The cat').ids)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('torch', 'transformers')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [f"HFTokenizer {simulator.load(GPT2).encode('The cat').ids}", "[]"]


def test_bad_hf_tokenizer_specs_are_model_file_errors() -> None:
    with pytest.raises(ModelFileError, match="damaged"):
        tokenizer_from_spec({"kind": "hf", "json": "{not json"})
    with pytest.raises(ModelFileError, match="'json'"):
        tokenizer_from_spec({"kind": "hf"})


def test_loading_checkpoints_never_imports_torch_or_transformers() -> None:
    code = (
        "import sys, simulator\n"
        f"for p in ({str(GPT2)!r}, {str(BERT)!r}):\n"
        "    m = simulator.load(p); t = m.trace('The cat sat'); [t[s] for s in m.stage_ids()]\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('torch', 'transformers', 'PySide6', 'ui')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["model.safetensors", "config.json"])
def test_a_file_inside_a_checkpoint_folder_points_to_the_folder(name: str, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=f"{name} is one file of a checkpoint: open the folder"):
        simulator.load(GPT2 / name)
    shutil.copy(GPT2 / "config.json", tmp_path / "config.json")
    shutil.copy(GPT2 / "model.safetensors", tmp_path / "MODEL.SAFETENSORS")  # any case
    with pytest.raises(ModelFileError, match="one file of a checkpoint"):
        simulator.load(tmp_path / "MODEL.SAFETENSORS")


def test_a_safetensors_file_outside_a_checkpoint_is_just_not_a_model_file(tmp_path: Path) -> None:
    shutil.copy(GPT2 / "model.safetensors", tmp_path / "weights.safetensors")
    with pytest.raises(ModelFileError, match="not an .npz archive"):
        simulator.load(tmp_path / "weights.safetensors")


def test_the_app_with_a_checkpoint_open_never_imports_torch_or_transformers(tmp_path: Path) -> None:
    """The whole GUI (every panel drawn at the last stage) with a GPT-2 folder opened."""
    shot = tmp_path / "shot.png"
    code = (
        "import sys\n"
        "from ui.app import run\n"
        f"code = run(['--model', {str(GPT2)!r}, '--stage', 'probs', '--screenshot', {str(shot)!r}])\n"
        "print(code, sorted(n for n in sys.modules if n.split('.')[0] in ('torch', 'transformers')))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "0 []", out.stdout + out.stderr
    assert shot.stat().st_size > 10_000


# -- other layouts of the same weights --------------------------------------------------------------
def test_hub_style_gpt2_names_and_mask_buffers(tmp_path: Path, gpt2: simulator.Model) -> None:
    folder = copy_folder(GPT2, tmp_path / "gpt2")

    def hub(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {k.removeprefix("transformer."): v for k, v in tensors.items()}
        for layer in range(2):
            out[f"h.{layer}.attn.bias"] = np.tril(np.ones((1, 1, 64, 64), np.float32))
            out[f"h.{layer}.attn.masked_bias"] = np.array(-1e4, np.float32)
        return out

    rewrite_weights(folder, hub)
    model = simulator.load(folder)
    np.testing.assert_array_equal(final_stage(model, TEXTS[0]), final_stage(gpt2, TEXTS[0]))
    assert "Not used here" not in model.info.description


def test_untied_gpt2_uses_lm_head(tmp_path: Path) -> None:
    folder = copy_folder(GPT2, tmp_path / "gpt2")
    config = json.loads((folder / "config.json").read_text())
    config["tie_word_embeddings"] = False
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="lm_head.weight"):
        simulator.load(folder)
    head = np.random.default_rng(3).standard_normal((400, 32)).astype(np.float32)
    rewrite_weights(folder, lambda t: {**t, "lm_head.weight": head})
    np.testing.assert_array_equal(simulator.load(folder).params["unembed.W_U"], head.T)


def test_pretraining_bert_names_and_heads(tmp_path: Path, bert: simulator.Model) -> None:
    folder = copy_folder(BERT, tmp_path / "bert")

    def pretraining(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {"bert." + k: v for k, v in tensors.items()}
        out["cls.predictions.bias"] = np.zeros(300, np.float32)
        out["bert.embeddings.position_ids"] = np.arange(64, dtype=np.int64)[None]
        return out

    rewrite_weights(folder, pretraining)
    model = simulator.load(folder)
    np.testing.assert_array_equal(final_stage(model, TEXTS[0]), final_stage(bert, TEXTS[0]))
    assert "cls.*" in model.info.description


def test_old_gamma_beta_layer_norm_names(tmp_path: Path, bert: simulator.Model) -> None:
    folder = copy_folder(BERT, tmp_path / "bert")
    rewrite_weights(
        folder,
        lambda t: {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v for k, v in t.items()},
    )
    np.testing.assert_array_equal(final_stage(simulator.load(folder), TEXTS[0]), final_stage(bert, TEXTS[0]))


def test_sharded_safetensors(tmp_path: Path, gpt2: simulator.Model) -> None:
    folder = copy_folder(GPT2, tmp_path / "gpt2", without=("model.safetensors",))
    tensors = load_file(GPT2 / "model.safetensors")
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[:10], "model-00002-of-00002.safetensors": names[10:]}
    for file, part in shards.items():
        save_file({k: tensors[k] for k in part}, str(folder / file))
    index = {"metadata": {}, "weight_map": {k: f for f, part in shards.items() for k in part}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    np.testing.assert_array_equal(final_stage(simulator.load(folder), TEXTS[0]), final_stage(gpt2, TEXTS[0]))


def test_tensor_in_two_shards_follows_the_index(tmp_path: Path, gpt2: simulator.Model) -> None:
    """A stale copy of a tensor in a later shard must not win over the shard the index names."""
    folder = copy_folder(GPT2, tmp_path / "gpt2", without=("model.safetensors",))
    tensors = load_file(GPT2 / "model.safetensors")
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[:10], "model-00002-of-00002.safetensors": names[10:]}
    stale = {names[0]: np.zeros_like(tensors[names[0]])}
    save_file({k: tensors[k] for k in shards["model-00001-of-00002.safetensors"]}, str(folder / "model-00001-of-00002.safetensors"))
    save_file({**{k: tensors[k] for k in names[10:]}, **stale}, str(folder / "model-00002-of-00002.safetensors"))
    index = {"metadata": {}, "weight_map": {k: f for f, part in shards.items() for k in part}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    np.testing.assert_array_equal(final_stage(simulator.load(folder), TEXTS[0]), final_stage(gpt2, TEXTS[0]))


def test_half_precision_weights_are_widened(tmp_path: Path) -> None:
    folder = copy_folder(GPT2, tmp_path / "gpt2")
    tensors = load_file(GPT2 / "model.safetensors")
    rewrite_weights(folder, lambda t: {k: v.astype(np.float16) for k, v in t.items()})
    model = simulator.load(folder)
    assert model.params["embed.W_E"].dtype == np.float32
    np.testing.assert_array_equal(model.params["embed.W_E"], tensors["transformer.wte.weight"].astype(np.float16).astype(np.float32))


def test_bfloat16_tensors_are_read(tmp_path: Path) -> None:
    """NumPy has no bfloat16: the loader widens the 16-bit words itself."""
    values = np.array([[1.0, -2.5, 3.140625], [0.0, 1e-3, -65536.0]], dtype=np.float32)
    words = (values.view(np.uint32) >> 16).astype("<u2")
    header = json.dumps({"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, words.nbytes]}}).encode()
    header += b" " * (-len(header) % 8)
    (tmp_path / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + words.tobytes())
    read = WeightFile(tmp_path).read("w")
    expected = (words.astype(np.uint32) << 16).view(np.float32).reshape(2, 3)
    np.testing.assert_array_equal(read, expected)
    assert read.dtype == np.float32


def test_sentence_transformers_pooling_decides_the_pooled_stage(tmp_path: Path, bert: simulator.Model) -> None:
    folder = copy_folder(BERT, tmp_path / "st")
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir()
    pooling = {"word_embedding_dimension": 32, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    mean = simulator.load(folder)
    assert mean.config.pooling == "mean" and "sentence-transformers" in mean.info.description
    np.testing.assert_array_equal(mean.trace(TEXTS[0])["pooled"], bert.trace(TEXTS[0])["pooled"])
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({**pooling, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    cls = simulator.load(folder)
    assert cls.config.pooling == "none" and "pooled" not in cls.graph and "'cls'" in cls.info.description


def test_sentence_transformers_transformer_in_a_sub_folder(tmp_path: Path, bert: simulator.Model) -> None:
    root = tmp_path / "st"
    root.mkdir()
    copy_folder(BERT, root / "0_BERT")
    modules = [{"idx": 0, "name": "0", "path": "0_BERT", "type": "sentence_transformers.models.BERT"}]
    (root / "modules.json").write_text(json.dumps(modules))
    model = simulator.load(root)
    assert model.info.name == "st" and "pooled" not in model.graph  # no pooling module listed
    np.testing.assert_array_equal(model.trace(TEXTS[0])["blocks.1.ln2"], bert.trace(TEXTS[0])["blocks.1.ln2"])


# -- progress and cancelling -------------------------------------------------------------------------
def test_progress_runs_from_zero_to_one() -> None:
    seen: list[tuple[float, str]] = []
    load_checkpoint(GPT2, progress=lambda fraction, message: seen.append((fraction, message)))
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and len(seen) > 10
    assert all(isinstance(m, str) and m for _, m in seen)


@pytest.mark.parametrize("after", [0, 1, 5, 20])
def test_cancelling_stops_the_load(after: int) -> None:
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > after

    with pytest.raises(LoadCancelled, match="cancelled"):
        load_checkpoint(BERT, cancelled=cancelled)


def test_checkpoint_type_is_cheap_and_names_the_family() -> None:
    assert checkpoint_type(GPT2) == "gpt2" and checkpoint_type(BERT) == "bert"


# -- folders that are wrong ---------------------------------------------------------------------------
def expect_error(folder: Path, *fragments: str) -> str:
    with pytest.raises(ModelFileError) as info:
        simulator.load(folder)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_folder_without_config_json(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    expect_error(tmp_path, "no config.json")


def test_an_unsupported_model_type(tmp_path: Path) -> None:
    folder = copy_folder(GPT2, tmp_path / "llama")
    (folder / "config.json").write_text(json.dumps({"model_type": "llama"}))
    expect_error(folder, "'llama'", "not supported", "gpt2", "bert")


def test_a_config_without_model_type(tmp_path: Path) -> None:
    folder = copy_folder(GPT2, tmp_path / "m")
    (folder / "config.json").write_text(json.dumps({"n_embd": 32}))
    expect_error(folder, "model_type")


def test_a_damaged_config_json(tmp_path: Path) -> None:
    folder = copy_folder(GPT2, tmp_path / "m")
    (folder / "config.json").write_text('{"model_type": "gpt2", ')
    expect_error(folder, "config.json", "damaged")


def test_a_config_value_of_the_wrong_kind(tmp_path: Path) -> None:
    folder = copy_folder(BERT, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": "two"}))
    expect_error(folder, "config.json", "num_hidden_layers")
    (folder / "config.json").write_text(json.dumps({**config, "hidden_act": "swish"}))
    expect_error(folder, "hidden_act", "'swish'")


def test_missing_weights_file(tmp_path: Path) -> None:
    folder = copy_folder(GPT2, tmp_path / "m", without=("model.safetensors",))
    expect_error(folder, "no model.safetensors")
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x02")
    expect_error(folder, "pytorch_model.bin", "safetensors")


@pytest.mark.parametrize("damage", ["junk", "truncated", "empty"])
def test_a_damaged_safetensors_file(tmp_path: Path, damage: str) -> None:
    folder = copy_folder(GPT2, tmp_path / "m")
    path = folder / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes({"junk": b"this is not a safetensors file", "truncated": data[: len(data) - 100], "empty": b""}[damage])
    expect_error(folder, "model.safetensors", "damaged")


def test_a_missing_tensor_is_named(tmp_path: Path) -> None:
    folder = copy_folder(GPT2, tmp_path / "m")
    rewrite_weights(folder, lambda t: {k: v for k, v in t.items() if k != "transformer.h.1.mlp.c_fc.weight"})
    expect_error(folder, "transformer.h.1.mlp.c_fc.weight", "lacks")


def test_a_tensor_with_the_wrong_shape_is_named(tmp_path: Path) -> None:
    folder = copy_folder(BERT, tmp_path / "m")
    rewrite_weights(folder, lambda t: {**t, "encoder.layer.1.output.dense.weight": np.zeros((32, 63), np.float32)})
    expect_error(folder, "encoder.layer.1.output.dense.weight", "[32, 63]", "expected [32, 64]")


def test_a_config_that_does_not_match_the_weights(tmp_path: Path) -> None:
    folder = copy_folder(GPT2, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "n_layer": 3}))
    expect_error(folder, "transformer.h.2.")


def test_weights_of_another_family(tmp_path: Path) -> None:
    folder = copy_folder(BERT, tmp_path / "m")
    shutil.copyfile(GPT2 / "model.safetensors", folder / "model.safetensors")
    expect_error(folder, "does not hold BERT weights")


def test_integer_tensors_where_weights_belong(tmp_path: Path) -> None:
    folder = copy_folder(GPT2, tmp_path / "m")
    rewrite_weights(folder, lambda t: {**t, "transformer.ln_f.bias": np.zeros(32, np.int64)})
    expect_error(folder, "transformer.ln_f.bias", "I64")


def test_non_finite_weights(tmp_path: Path) -> None:
    folder = copy_folder(GPT2, tmp_path / "m")
    rewrite_weights(folder, lambda t: {**t, "transformer.ln_f.bias": np.full(32, np.nan, np.float32)})
    expect_error(folder, "ln_final.b", "NaN")


def test_missing_or_damaged_tokenizer(tmp_path: Path) -> None:
    folder = copy_folder(GPT2, tmp_path / "m", without=("tokenizer.json", "merges.txt"))
    expect_error(folder, "merges.txt")
    bert_folder = copy_folder(BERT, tmp_path / "b", without=("tokenizer.json", "vocab.txt"))
    expect_error(bert_folder, "vocab.txt")
    shutil.copyfile(BERT / "tokenizer.json", bert_folder / "tokenizer.json")
    (bert_folder / "tokenizer.json").write_text('{"version": "1.0", "model": ')
    expect_error(bert_folder, "tokenizer.json", "damaged")


def test_a_tokenizer_larger_than_the_vocabulary(tmp_path: Path) -> None:
    folder = copy_folder(BERT, tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "vocab_size": 200}))
    rewrite_weights(folder, lambda t: {**t, "embeddings.word_embeddings.weight": t["embeddings.word_embeddings.weight"][:200]})
    expect_error(folder, "tokenizer has 300 tokens")


def test_paths_that_are_not_folders(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such file or folder"):
        simulator.load(tmp_path / "nowhere")
    with pytest.raises(ModelFileError, match="not a folder"):
        checkpoint_type(tmp_path / "nowhere")
