"""Hugging Face tokenisers (byte-level BPE for GPT-2, WordPiece for BERT) behind the engine's
:class:`~simulator.tokenizer.Tokenizer` protocol.

The ``tokenizers`` library does the splitting, so the ids are exactly the ones the checkpoint was
trained with. This module adds what a learner needs on top:

* **readable pieces** (:meth:`HFTokenizer.display`). Byte-level BPE stores a leading space as
  ``Ġ`` and a newline as ``Ċ``; they are shown as ``␣`` and ``↵`` (``"Ġcat"`` → ``"␣cat"``), a tab
  as ``⇥``, and a piece holding only part of a character's UTF-8 bytes as ``\\xNN`` escapes.
  WordPiece marks a piece that continues the previous word with ``##``; it is shown with a
  leading ellipsis (``"##er"`` → ``"…er"``: "…continues the word before"). The raw piece is
  still available from :meth:`HFTokenizer.id_to_token`, for tooltips;
* **unknown pieces**: WordPiece maps words it cannot spell to ``[UNK]``; those positions and the
  text typed there are reported in :attr:`~simulator.tokenizer.Encoding.unknown`. Byte-level
  BPE can spell every text, so it never reports unknowns;
* **saving**: :meth:`HFTokenizer.to_spec` stores the whole tokenizer JSON, so saved models and
  sessions rebuild the same tokenizer without the checkpoint folder.

Padding and truncation settings in a ``tokenizer.json`` are switched off: the model shows every
token of the text, and a text longer than the context window is rejected by
:meth:`simulator.model.Model.encode` instead of being cut silently.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from tokenizers import Tokenizer as _HFTokenizer
from tokenizers import decoders, models, normalizers, pre_tokenizers, processors

from simulator.errors import ModelFileError, TextError
from simulator.tokenizer import Encoding, register_tokenizer_kind

#: How WordPiece continuation pieces are marked on screen ("##er" → "…er").
CONTINUATION_MARK = "…"
#: How the byte-level leading space, newline, tab and carriage return are drawn.
WHITESPACE_MARKS = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}

_BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_GPT2_EOS = "<|endoftext|>"


@lru_cache(maxsize=1)
def _unicode_to_byte() -> dict[str, int]:
    """Inverse of GPT-2's byte → printable-character table used by byte-level BPE."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def _readable(text: str) -> str:
    """Make whitespace and control characters visible, one mark per character."""
    out = []
    for ch in text:
        mark = WHITESPACE_MARKS.get(ch)
        if mark is not None:
            out.append(mark)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def _walk_types(node: Any) -> set[str]:
    """Every component ``type`` named anywhere in a tokenizer JSON fragment."""
    found: set[str] = set()
    if isinstance(node, dict):
        kind = node.get("type")
        if isinstance(kind, str):
            found.add(kind)
        for value in node.values():
            found |= _walk_types(value)
    elif isinstance(node, list):
        for value in node:
            found |= _walk_types(value)
    return found


#: the largest tokenizer.json read whole (the biggest real ones, for 250k-piece vocabularies, are ~35 MB)
MAX_TOKENIZER_BYTES = 256 << 20

#: what a failing ``tokenizers`` call must never swallow (its panics are BaseExceptions too)
_NOT_DATA_ERRORS = (KeyboardInterrupt, SystemExit, GeneratorExit)


class HFTokenizer:
    """A ``tokenizers.Tokenizer`` adapted to the engine's tokeniser protocol (kind ``"hf"``)."""

    kind = "hf"

    def __init__(self, tokenizer: _HFTokenizer) -> None:
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self._tok = tokenizer
        try:
            description = json.loads(tokenizer.to_str())
        except Exception as exc:  # to_str fails for tokenizers it cannot serialise
            raise ModelFileError(f"the tokenizer cannot be described as JSON: {exc}") from exc
        model = description.get("model") or {}
        if not isinstance(model, dict):
            raise ModelFileError("the tokenizer description's 'model' must be a JSON object")
        self.model_type = str(model.get("type", ""))
        unk = model.get("unk_token")
        self._unk_token = unk if isinstance(unk, str) else None
        self._unk_id = tokenizer.token_to_id(unk) if isinstance(unk, str) else None
        types = _walk_types(description.get("pre_tokenizer")) | _walk_types(description.get("decoder"))
        self.byte_level = "ByteLevel" in types
        prefix = model.get("continuing_subword_prefix") if self.model_type == "WordPiece" else None
        self._continuation = prefix if isinstance(prefix, str) and prefix else None
        self._added = {t.get("content") for t in description.get("added_tokens") or () if isinstance(t, dict)}
        # Tokenisers that add [CLS]/[SEP] themselves drop them again when decoding, so that
        # encode(decode(ids)) gives the same ids back.
        try:
            probe = "a \u2603"  # a word and a piece most vocabularies lack, so the unknown-token path runs too
            self._strip_specials = len(tokenizer.encode(probe).ids) != len(tokenizer.encode(probe, add_special_tokens=False).ids)
        except BaseException as exc:  # the Rust side panics (a BaseException) on inconsistent descriptions
            if isinstance(exc, _NOT_DATA_ERRORS):
                raise
            raise ModelFileError(f"the tokenizer description is inconsistent (it cannot encode a word): {exc}") from None
        self._display_cache: dict[str, str] = {}

    # -- building ------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str) -> "HFTokenizer":
        """From the contents of a ``tokenizer.json`` (as stored by :meth:`to_spec`)."""
        try:
            tok = _HFTokenizer.from_str(text)
        except Exception as exc:  # the Rust side raises a plain Exception for bad JSON
            raise ModelFileError(f"the tokenizer description is damaged: {exc}") from exc
        return cls(tok)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> "HFTokenizer":
        """Rebuild from :meth:`to_spec` output (the factory registered for kind ``"hf"``)."""
        text = spec.get("json")
        if not isinstance(text, str):
            raise ModelFileError("the 'hf' tokenizer description has no 'json' text")
        return cls.from_json(text)

    @classmethod
    def from_folder(cls, folder: Path, family: str) -> "HFTokenizer":
        """Read ``tokenizer.json``, or else the older vocabulary files of ``family``.

        ``family`` is ``"gpt2"`` (``vocab.json`` + ``merges.txt``, byte-level BPE) or ``"bert"``
        (``vocab.txt``, WordPiece); both give the same ids as the ``tokenizer.json`` they
        correspond to.
        """
        path = folder / "tokenizer.json"
        if path.is_file():
            try:
                if path.stat().st_size > MAX_TOKENIZER_BYTES:
                    raise ModelFileError(f"tokenizer.json is too large ({path.stat().st_size:,} bytes; at most {MAX_TOKENIZER_BYTES:,})")
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ModelFileError(f"tokenizer.json cannot be read: {exc}") from exc
            try:
                tok = _HFTokenizer.from_str(text)
            except Exception as exc:
                raise ModelFileError(f"tokenizer.json is damaged or not a tokenizer file: {exc}") from exc
            return cls(tok)
        if family == "gpt2":
            return cls(_gpt2_from_vocab(folder))
        if family == "bert":
            return cls(_bert_from_vocab(folder))
        raise ModelFileError(f"the folder has no tokenizer.json (needed for {family!r} models)")

    # -- the Tokenizer protocol ---------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""
        return self._tok.get_vocab_size(with_added_tokens=True)

    @property
    def unk_id(self) -> int | None:
        """Id of the unknown-word piece (``[UNK]``), or None for byte-level BPE."""
        return self._unk_id

    def encode(self, text: str) -> Encoding:
        """Token ids with the model's own special tokens (``[CLS]`` … ``[SEP]`` for BERT)."""
        try:
            enc = self._tok.encode(text)
        except BaseException as exc:  # a panic in the Rust tokenizer must not end the app
            if isinstance(exc, _NOT_DATA_ERRORS):
                raise
            raise TextError(f"the tokenizer cannot read this text: {exc}") from None
        ids = tuple(enc.ids)
        unknown: list[int] = []
        unknown_text: list[str] = []
        if self._unk_id is not None:
            for pos, (token_id, (start, end)) in enumerate(zip(ids, enc.offsets, strict=True)):
                typed = text[start:end]
                if token_id == self._unk_id and typed != self._unk_token:  # "[UNK]" typed on purpose is known
                    unknown.append(pos)
                    unknown_text.append(typed)
        return Encoding(ids, tuple(enc.tokens), tuple(unknown), tuple(unknown_text))

    def decode(self, ids: Sequence[int]) -> str:
        """Text of the ids; special tokens the tokenizer adds by itself are left out."""
        checked = [int(i) for i in ids]
        for token_id in checked:
            self._check_id(token_id)
        return self._tok.decode(checked, skip_special_tokens=self._strip_specials)

    def id_to_token(self, token_id: int) -> str:
        """The raw piece as stored in the vocabulary (``"Ġcat"``, ``"##er"``)."""
        self._check_id(token_id)
        token = self._tok.id_to_token(int(token_id))
        return token if token is not None else f"#{token_id}"

    def token_to_id(self, token: str) -> int | None:
        """The id of a raw piece, or None if the vocabulary does not have it."""
        return self._tok.token_to_id(token)

    def display(self, token: str) -> str:
        """The piece as a student reads it: ``"Ġcat"`` → ``"␣cat"``, ``"##er"`` → ``"…er"``."""
        shown = self._display_cache.get(token)
        if shown is None:
            shown = self._make_display(token)
            self._display_cache[token] = shown
        return shown

    def to_spec(self) -> dict[str, Any]:
        """``{"kind": "hf", "json": <tokenizer.json text>}``: everything needed to rebuild it."""
        return {"kind": self.kind, "json": self._tok.to_str()}

    # -- helpers -------------------------------------------------------------------------------
    def _check_id(self, token_id: int) -> None:
        if not 0 <= token_id < self.vocab_size:
            raise TextError(f"token id {token_id} is outside the vocabulary (0..{self.vocab_size - 1})")

    def _make_display(self, token: str) -> str:
        if token in self._added:
            return _readable(token)
        if self.byte_level:
            table = _unicode_to_byte()
            if all(ch in table for ch in token):
                raw = bytes(table[ch] for ch in token)
                return _readable(raw.decode("utf-8", errors="backslashreplace"))
            return _readable(token)
        prefix = self._continuation
        if prefix is not None and token.startswith(prefix) and len(token) > len(prefix):
            return CONTINUATION_MARK + _readable(token[len(prefix):])
        return _readable(token)


def _read_special_names(folder: Path) -> list[str]:
    """Special-token strings named in ``special_tokens_map.json`` / ``tokenizer_config.json``."""
    names: list[str] = []
    for file in ("special_tokens_map.json", "tokenizer_config.json"):
        path = folder / file
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"{file} is damaged: {exc}") from exc
        if not isinstance(data, dict):
            raise ModelFileError(f"{file} is not a JSON object")
        for key in ("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("content")
            if isinstance(value, str) and value not in names:
                names.append(value)
    return names


def _tokenizer_config(folder: Path) -> dict[str, Any]:
    path = folder / "tokenizer_config.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"tokenizer_config.json is damaged: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _gpt2_from_vocab(folder: Path) -> _HFTokenizer:
    """GPT-2's byte-level BPE from ``vocab.json`` and ``merges.txt``."""
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    missing = [p.name for p in (vocab, merges) if not p.is_file()]
    if missing:
        raise ModelFileError(
            f"the folder has no tokenizer: it needs tokenizer.json, or vocab.json and merges.txt (missing {', '.join(missing)})"
        )
    try:
        model = models.BPE.from_file(str(vocab), str(merges))
    except Exception as exc:
        raise ModelFileError(f"vocab.json / merges.txt cannot be read as a BPE vocabulary: {exc}") from exc
    tok = _HFTokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    specials = [s for s in _read_special_names(folder) + [_GPT2_EOS] if tok.token_to_id(s) is not None]
    if specials:
        tok.add_special_tokens(list(dict.fromkeys(specials)))
    return tok


def _bert_from_vocab(folder: Path) -> _HFTokenizer:
    """BERT's WordPiece from ``vocab.txt``: lower-casing per ``tokenizer_config.json``, [CLS] … [SEP]."""
    vocab = folder / "vocab.txt"
    if not vocab.is_file():
        raise ModelFileError("the folder has no tokenizer: it needs tokenizer.json or vocab.txt")
    config = _tokenizer_config(folder)
    unk = config.get("unk_token", "[UNK]")
    unk = unk.get("content", "[UNK]") if isinstance(unk, dict) else str(unk)
    try:
        model = models.WordPiece.from_file(str(vocab), unk_token=unk)
    except Exception as exc:
        raise ModelFileError(f"vocab.txt cannot be read as a WordPiece vocabulary: {exc}") from exc
    tok = _HFTokenizer(model)
    lowercase = bool(config.get("do_lower_case", True))
    strip_accents = config.get("strip_accents")
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=bool(config.get("tokenize_chinese_chars", True)),
        strip_accents=None if strip_accents is None else bool(strip_accents),
        lowercase=lowercase,
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    specials = [s for s in list(_BERT_SPECIALS) + _read_special_names(folder) if tok.token_to_id(s) is not None]
    tok.add_special_tokens(list(dict.fromkeys(specials)))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    if cls_id is None or sep_id is None:
        raise ModelFileError("vocab.txt has no [CLS] or [SEP] token, so it is not a BERT vocabulary")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return tok


register_tokenizer_kind(HFTokenizer.kind, HFTokenizer.from_spec)
