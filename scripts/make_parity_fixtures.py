#!/usr/bin/env python
"""Create tiny random GPT-2 / BERT checkpoints and record PyTorch intermediates.

DEV-ONLY: needs torch + transformers (not runtime dependencies of the simulator).

    /work/venv/bin/python scripts/make_parity_fixtures.py

Writes (relative to the repository root):

    tests/fixtures/checkpoints/gpt2-tiny/   config.json, generation_config.json,
                                            model.safetensors, tokenizer.json,
                                            vocab.json, merges.txt
    tests/fixtures/checkpoints/bert-tiny/   config.json, model.safetensors,
                                            tokenizer.json, vocab.txt
    tests/fixtures/parity/<ckpt>-<i>.npz    per-stage float32 activations keyed by
                                            the engine's stage ids (i = 0, 1, 2)

Everything is seeded; running the script twice produces byte-identical files
(npz archives are written with a fixed zip timestamp).

Stage recording only uses values PyTorch produces (forward hooks on modules and
model outputs).  The only reshapes are the head split of q/k/v/z
([pos, d_model] -> [head, pos, d_head]); the only arithmetic is BERT's
``pooled`` (mean over positions of the last hidden state).  ``resid_mid`` and
BERT's ``resid_post`` are read from the *inputs* of the LayerNorm that follows
them (forward pre-hooks), so they are PyTorch's own sums too.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SEED = 20240607

# ----------------------------------------------------------------------------
# Training text for the tokenizers (small, built-in, English).
# ----------------------------------------------------------------------------
CORPUS = [
    "The cat sat on the mat and watched the river.",
    "A small cat slept in the warm sun by the window.",
    "The black cat chased a mouse across the kitchen floor.",
    "Cats like to sleep, and cats like to play with string.",
    "She walked along the river bank in the morning.",
    "The river bank was muddy after the heavy rain.",
    "He went to the bank to deposit his money.",
    "The bank opened a new branch near the old bridge.",
    "Money in the bank earns a little interest every year.",
    "The river flows slowly past the quiet village.",
    "Fish swim in the cold, clear water of the river.",
    "Boats drift down the river toward the sea.",
    "A fluffy blue creature lived under the bridge.",
    "The fluffy blue creature loved to eat sweet berries.",
    "Every night the blue creature sang a soft song.",
    "The creature was fluffy, round, and very friendly.",
    "Children laughed when the fluffy creature danced.",
    "The dog and the cat were good friends.",
    "A bird sang in the tall green tree.",
    "The sun rose over the hills and the river sparkled.",
    "They sat on the bank and watched the boats go by.",
    "The old man fished from the river bank all day.",
    "The teacher read a story about a blue creature.",
    "The story was long, but the children loved it.",
    "Rain fell on the roof of the little house.",
    "The cat jumped onto the table and knocked over a cup.",
    "We crossed the bridge to reach the other side of the river.",
    "The creature had soft blue fur and big round eyes.",
    "The bank manager counted the money twice.",
    "Water from the river filled the old stone well.",
    "The quick brown fox jumps over the lazy dog.",
    "On sunny days the cats lie on the warm stones.",
    "It is a truth that every river runs to the sea.",
    "The fluffy creatures of the blue forest are very shy.",
    "Is the cat asleep? No, the cat is awake!",
    "The model reads one token at a time and predicts the next.",
]

SENTENCES = [
    "The cat sat on the river bank.",
    "A fluffy blue creature sang.",
    "The bankers watched the boats.",  # 'bankers' -> bank + er + s in both tokenizers
]

# ----------------------------------------------------------------------------
# Model configs.
# ----------------------------------------------------------------------------
GPT2_VOCAB = 400
BERT_VOCAB = 300
D_MODEL = 32
N_HEAD = 4
N_LAYER = 2


def gpt2_config() -> GPT2Config:
    return GPT2Config(
        vocab_size=GPT2_VOCAB,
        n_positions=64,
        n_embd=D_MODEL,
        n_layer=N_LAYER,
        n_head=N_HEAD,
        n_inner=None,  # -> 4 * n_embd = 128
        activation_function="gelu_new",
        layer_norm_epsilon=1e-4,  # GPT-2's default is 1e-5; a non-default value catches a hard-coded eps
        bos_token_id=GPT2_VOCAB - 1,
        eos_token_id=GPT2_VOCAB - 1,
        attn_implementation="eager",
    )


def bert_config(vocab_size: int) -> BertConfig:
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=D_MODEL,
        num_hidden_layers=N_LAYER,
        num_attention_heads=N_HEAD,
        intermediate_size=64,
        hidden_act="gelu",  # erf GELU
        max_position_embeddings=64,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
        pad_token_id=0,
        attn_implementation="eager",
    )


# ----------------------------------------------------------------------------
# Deterministic weights (NumPy RNG, independent of HF's init code).
# ----------------------------------------------------------------------------
def randomize_(model: torch.nn.Module, seed: int) -> None:
    """Overwrite every parameter with seeded values.

    Scales are chosen so attention patterns are far from uniform and GELU is
    exercised in its non-linear range; LayerNorm gains are perturbed around 1
    and every bias (LayerNorm and linear) is non-zero.
    """
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        # named_parameters() de-duplicates tied parameters (lm_head.weight is wte.weight).
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            shape = tuple(p.shape)
            is_ln = ("ln_" in name) or ("LayerNorm" in name)
            if is_ln and name.endswith("weight"):
                v = 1.0 + 0.2 * rng.standard_normal(shape)
            elif name.endswith("bias"):
                v = 0.1 * rng.standard_normal(shape)
            elif "wte" in name or "word_embeddings" in name:
                v = 0.3 * rng.standard_normal(shape)
            elif "wpe" in name or "position_embeddings" in name or "token_type_embeddings" in name:
                v = 0.2 * rng.standard_normal(shape)
            else:
                v = 0.2 * rng.standard_normal(shape)
            p.copy_(torch.from_numpy(v.astype(np.float32)))


# ----------------------------------------------------------------------------
# Tokenizers.
# ----------------------------------------------------------------------------
def train_gpt2_tokenizer(vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.BPE(dropout=None, unk_token=None, continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - 1,  # <|endoftext|> is appended as the last id, like GPT-2's 50256
        min_frequency=1,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    if tok.get_vocab_size(with_added_tokens=False) != vocab_size - 1:
        raise SystemExit(f"BPE training reached only {tok.get_vocab_size()} tokens; enlarge CORPUS")
    tok.add_special_tokens(["<|endoftext|>"])
    assert tok.token_to_id("<|endoftext|>") == vocab_size - 1
    assert tok.get_vocab_size(with_added_tokens=True) == vocab_size
    return tok


def wordpiece_vocab(tok: Tokenizer, specials: list[str], vocab_size: int) -> dict[str, int]:
    """Deterministic WordPiece vocabulary, same algorithm as tokenizers' WordPieceTrainer.

    tokenizers' WordPieceTrainer (0.23) is NOT reproducible across processes: it adds the
    '##x' continuation alphabet in Rust-HashMap order, which changes merge tie-breaks.
    So the merge loop is done here (BPE-style: most frequent adjacent pair, ties broken
    lexicographically), using the tokenizer's own normalizer and pre-tokenizer for words.
    """
    counts: dict[str, int] = {}
    for line in CORPUS:
        norm = tok.normalizer.normalize_str(line)
        for word, _ in tok.pre_tokenizer.pre_tokenize_str(norm):
            counts[word] = counts.get(word, 0) + 1
    words = sorted(counts)
    split = {w: [w[0]] + ["##" + c for c in w[1:]] for w in words}
    vocab: dict[str, int] = {}
    for t in specials + sorted({p for w in words for p in split[w]}, key=lambda t: (t.startswith("##"), t)):
        vocab.setdefault(t, len(vocab))
    while len(vocab) < vocab_size:
        pairs: dict[tuple[str, str], int] = {}
        for w in words:
            parts = split[w]
            for a, b in zip(parts, parts[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + counts[w]
        if not pairs:
            break
        (a, b), _ = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        new = a + b[2:]
        vocab.setdefault(new, len(vocab))
        for w in words:
            parts, out, i = split[w], [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            split[w] = out
    return vocab


def train_bert_tokenizer(vocab_size: int) -> Tokenizer:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    vocab = wordpiece_vocab(tok, specials, vocab_size)
    tok.model = models.WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100)
    tok.add_special_tokens(specials)  # marks them special (kept out of normalisation); ids unchanged
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    assert [tok.token_to_id(s) for s in specials] == [0, 1, 2, 3, 4]
    assert tok.get_vocab_size(with_added_tokens=True) == vocab_size, tok.get_vocab_size()
    return tok


def ordered_vocab(tok: Tokenizer) -> list[str]:
    vocab = tok.get_vocab(with_added_tokens=True)
    inv = sorted(vocab.items(), key=lambda kv: kv[1])
    assert [i for _, i in inv] == list(range(len(inv))), "vocab ids are not contiguous"
    return [t for t, _ in inv]


def save_gpt2_tokenizer(tok: Tokenizer, out: Path) -> None:
    tok.save(str(out / "tokenizer.json"), pretty=True)
    # vocab.json: all ids incl. <|endoftext|> (GPT-2's vocab.json contains it too).
    vocab = {t: i for i, t in enumerate(ordered_vocab(tok))}
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    # merges.txt: GPT-2 format, "#version: 0.2" header then "a b" per line in rank order.
    merges = json.loads(tok.to_str())["model"]["merges"]
    lines = ["#version: 0.2"] + [" ".join(m) if isinstance(m, list) else m for m in merges]
    (out / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def save_bert_tokenizer(tok: Tokenizer, out: Path) -> None:
    tok.save(str(out / "tokenizer.json"), pretty=True)
    (out / "vocab.txt").write_text("\n".join(ordered_vocab(tok)) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------
# Hook helpers.
# ----------------------------------------------------------------------------
def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).cpu().numpy().copy()


def split_heads(x: np.ndarray, n_head: int) -> np.ndarray:
    """[pos, n_head*d_head] -> [head, pos, d_head]."""
    pos, d = x.shape
    return np.ascontiguousarray(x.reshape(pos, n_head, d // n_head).transpose(1, 0, 2))


class Recorder:
    def __init__(self) -> None:
        self.rec: dict[str, np.ndarray] = {}
        self.handles: list = []

    def out(self, module: torch.nn.Module, key: str, index: int | None = None, heads: int | None = None) -> None:
        def hook(_m, _args, output):
            t = output if index is None else output[index]
            a = _np(t)[0]  # drop batch dim
            self.rec[key] = split_heads(a, heads) if heads else a

        self.handles.append(module.register_forward_hook(hook))

    def inp(self, module: torch.nn.Module, key: str, heads: int | None = None) -> None:
        def hook(_m, args, kwargs):
            t = args[0] if args else kwargs["hidden_states"]
            a = _np(t)[0]
            self.rec[key] = split_heads(a, heads) if heads else a

        self.handles.append(module.register_forward_pre_hook(hook, with_kwargs=True))

    def fn(self, module: torch.nn.Module, callback) -> None:
        self.handles.append(module.register_forward_hook(lambda _m, _a, o: callback(o)))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()


def record_gpt2(model: GPT2LMHeadModel, ids: list[int]) -> dict[str, np.ndarray]:
    cfg = model.config
    tr = model.transformer
    r = Recorder()
    r.out(tr.wte, "embed")
    r.out(tr.wpe, "pos_embed")
    for l, blk in enumerate(tr.h):
        p = f"blocks.{l}"
        r.inp(blk, f"{p}.resid_pre")
        r.out(blk.ln_1, f"{p}.ln1")

        def qkv(o, p=p):
            q, k, v = o[0].split(cfg.n_embd, dim=-1)  # c_attn output = [q | k | v]
            r.rec[f"{p}.attn.q"] = split_heads(_np(q), cfg.n_head)
            r.rec[f"{p}.attn.k"] = split_heads(_np(k), cfg.n_head)
            r.rec[f"{p}.attn.v"] = split_heads(_np(v), cfg.n_head)

        r.fn(blk.attn.c_attn, qkv)
        r.out(blk.attn, f"{p}.attn.pattern_hook", index=1)
        r.inp(blk.attn.c_proj, f"{p}.attn.z", heads=cfg.n_head)  # merged heads before c_proj
        r.out(blk.attn, f"{p}.attn_out", index=0)
        r.inp(blk.ln_2, f"{p}.resid_mid")  # = attn_out + resid_pre, summed by GPT2Block
        r.out(blk.ln_2, f"{p}.ln2")
        r.out(blk.mlp.c_fc, f"{p}.mlp.pre")
        r.out(blk.mlp.act, f"{p}.mlp.post")
        r.out(blk.mlp, f"{p}.mlp_out")
        r.out(blk, f"{p}.resid_post")
    r.out(tr.ln_f, "ln_final")
    try:
        with torch.no_grad():
            out = model(
                input_ids=torch.tensor([ids], dtype=torch.long),
                output_hidden_states=True,
                output_attentions=True,
                use_cache=False,
            )
    finally:
        r.remove()
    rec = r.rec
    rec["logits"] = _np(out.logits)[0]
    hs, att = out.hidden_states, out.attentions
    for l in range(cfg.n_layer):
        p = f"blocks.{l}"
        pat = _np(att[l])[0]
        assert np.array_equal(pat, rec.pop(f"{p}.attn.pattern_hook"))
        rec[f"{p}.attn.pattern"] = pat
        assert np.array_equal(rec[f"{p}.resid_pre"], _np(hs[l])[0])
        if l + 1 < cfg.n_layer:
            assert np.array_equal(rec[f"{p}.resid_post"], _np(hs[l + 1])[0])
    # HF quirk: GPT-2's last hidden_states entry is AFTER ln_f, not the last block output.
    assert np.array_equal(rec["ln_final"], _np(hs[-1])[0])
    return rec


def record_bert(model: BertModel, ids: list[int]) -> dict[str, np.ndarray]:
    cfg = model.config
    emb = model.embeddings
    r = Recorder()
    r.out(emb.word_embeddings, "embed")
    r.out(emb.position_embeddings, "pos_embed")
    r.out(emb.token_type_embeddings, "token_type_embed")
    r.out(emb.LayerNorm, "embed_ln")
    for l, layer in enumerate(model.encoder.layer):
        p = f"blocks.{l}"
        sa, so = layer.attention.self, layer.attention.output
        r.inp(layer, f"{p}.resid_pre")
        r.out(sa.query, f"{p}.attn.q", heads=cfg.num_attention_heads)
        r.out(sa.key, f"{p}.attn.k", heads=cfg.num_attention_heads)
        r.out(sa.value, f"{p}.attn.v", heads=cfg.num_attention_heads)
        r.out(sa, f"{p}.attn.pattern_hook", index=1)
        r.out(sa, f"{p}.attn.z", index=0, heads=cfg.num_attention_heads)
        r.out(so.dense, f"{p}.attn_out")
        r.inp(so.LayerNorm, f"{p}.resid_mid")  # dense(z) + resid_pre, before the LayerNorm
        r.out(so.LayerNorm, f"{p}.ln1")
        r.out(layer.intermediate.dense, f"{p}.mlp.pre")
        r.out(layer.intermediate, f"{p}.mlp.post")
        r.out(layer.output.dense, f"{p}.mlp_out")
        r.inp(layer.output.LayerNorm, f"{p}.resid_post")  # mlp_out + ln1, before the LayerNorm
        r.out(layer.output.LayerNorm, f"{p}.ln2")
    n = len(ids)
    try:
        with torch.no_grad():
            out = model(
                input_ids=torch.tensor([ids], dtype=torch.long),
                attention_mask=torch.ones((1, n), dtype=torch.long),
                token_type_ids=torch.zeros((1, n), dtype=torch.long),
                output_hidden_states=True,
                output_attentions=True,
            )
    finally:
        r.remove()
    rec = r.rec
    hs, att = out.hidden_states, out.attentions
    assert np.array_equal(rec["embed_ln"], _np(hs[0])[0])
    for l in range(cfg.num_hidden_layers):
        p = f"blocks.{l}"
        pat = _np(att[l])[0]
        assert np.array_equal(pat, rec.pop(f"{p}.attn.pattern_hook"))
        rec[f"{p}.attn.pattern"] = pat
        assert np.array_equal(rec[f"{p}.ln2"], _np(hs[l + 1])[0])
        assert np.array_equal(rec[f"{p}.resid_pre"], _np(hs[l])[0])
    last = _np(out.last_hidden_state)[0]
    assert np.array_equal(last, rec[f"blocks.{cfg.num_hidden_layers - 1}.ln2"])
    rec["pooled"] = last.mean(axis=0, dtype=np.float32)
    return rec


# ----------------------------------------------------------------------------
# Deterministic npz writer (np.savez stamps the current time into the zip).
# ----------------------------------------------------------------------------
def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def finalize(rec: dict[str, np.ndarray], ids: list[int], text: str) -> dict[str, np.ndarray]:
    outp: dict[str, np.ndarray] = {}
    for k, v in rec.items():
        assert v.dtype == np.float32, (k, v.dtype)
        outp[k] = np.ascontiguousarray(v)
    outp["tokens"] = np.asarray(ids, dtype=np.int64)
    outp["input_ids"] = np.asarray(ids, dtype=np.int64)
    outp["text"] = np.array(text)  # 0-d '<U…' array, loads without allow_pickle
    return outp


# ----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=FIXTURES, help="fixtures root (default: tests/fixtures)")
    args = ap.parse_args(argv)

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    ck_root = args.out / "checkpoints"
    parity_root = args.out / "parity"
    gpt2_dir, bert_dir = ck_root / "gpt2-tiny", ck_root / "bert-tiny"
    for d in (gpt2_dir, bert_dir):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    parity_root.mkdir(parents=True, exist_ok=True)
    for f in parity_root.glob("*-[0-9].npz"):
        if f.name.startswith(("gpt2-tiny-", "bert-tiny-")):
            f.unlink()

    # ---- GPT-2 ---------------------------------------------------------------
    gtok = train_gpt2_tokenizer(GPT2_VOCAB)
    save_gpt2_tokenizer(gtok, gpt2_dir)
    gcfg = gpt2_config()
    gmodel = GPT2LMHeadModel(gcfg).eval()
    randomize_(gmodel, SEED)
    assert gmodel.lm_head.weight is gmodel.transformer.wte.weight, "lm_head is not tied to wte"
    gmodel.save_pretrained(str(gpt2_dir), safe_serialization=True)

    # ---- BERT ----------------------------------------------------------------
    btok = train_bert_tokenizer(BERT_VOCAB)
    save_bert_tokenizer(btok, bert_dir)
    bcfg = bert_config(btok.get_vocab_size(with_added_tokens=True))
    bmodel = BertModel(bcfg, add_pooling_layer=True).eval()
    randomize_(bmodel, SEED + 1)
    bmodel.save_pretrained(str(bert_dir), safe_serialization=True)

    # ---- reload from disk (exactly what was written) and record -------------
    gmodel = GPT2LMHeadModel.from_pretrained(str(gpt2_dir), attn_implementation="eager", dtype=torch.float32).eval()
    bmodel = BertModel.from_pretrained(str(bert_dir), attn_implementation="eager", dtype=torch.float32).eval()
    assert gmodel.lm_head.weight.data_ptr() == gmodel.transformer.wte.weight.data_ptr()
    gtok = Tokenizer.from_file(str(gpt2_dir / "tokenizer.json"))
    btok = Tokenizer.from_file(str(bert_dir / "tokenizer.json"))

    for name, model, tok, record in (
        ("gpt2-tiny", gmodel, gtok, record_gpt2),
        ("bert-tiny", bmodel, btok, record_bert),
    ):
        for i, text in enumerate(SENTENCES):
            enc = tok.encode(text)
            ids = list(enc.ids)
            assert 4 <= len(ids) <= 12, (name, text, enc.tokens)
            rec = record(model, ids)
            path = parity_root / f"{name}-{i}.npz"
            write_npz(path, finalize(rec, ids, text))
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(ids)} tokens {enc.tokens}")

    total = 0
    for f in sorted(list(ck_root.rglob("*")) + list(parity_root.glob("*.npz"))):
        if f.is_file():
            total += f.stat().st_size
            print(f"{f.stat().st_size:>9,d}  {f.relative_to(args.out)}")
    print(f"{total:>9,d}  total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
