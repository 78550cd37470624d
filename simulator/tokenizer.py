"""Tokenisers: text to token ids and back, flagging pieces the vocabulary does not know.

A tokeniser describes itself with ``to_spec()`` (a JSON-able dict) so it can be saved inside a
model or session file and rebuilt with :func:`tokenizer_from_spec`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from simulator.errors import ModelFileError, TextError, json_kind

UNK = "<unk>"
_WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?|[^\sa-z0-9]", re.UNICODE)


@dataclass(frozen=True)
class Encoding:
    """The result of tokenising a text."""

    ids: tuple[int, ...]
    tokens: tuple[str, ...]
    #: positions whose piece is not in the vocabulary (mapped to the unknown token)
    unknown: tuple[int, ...] = ()
    #: for each unknown position, the text the user typed there
    unknown_text: tuple[str, ...] = ()


class Tokenizer(Protocol):
    """What the engine and the GUI need from any tokeniser."""

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> Encoding: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def id_to_token(self, token_id: int) -> str: ...

    def display(self, token: str) -> str:
        """A readable form of a raw piece (e.g. GPT-2's leading-space marker made visible)."""
        ...

    def to_spec(self) -> dict[str, Any]: ...


class WordTokenizer:
    """Word-level tokeniser for small teaching vocabularies.

    Lower-cases, splits punctuation into its own tokens, maps unknown words to ``<unk>`` and
    reports them (it never drops a word).
    """

    kind = "word"

    def __init__(self, vocab: Sequence[str], unk: str = UNK) -> None:
        words = list(vocab)
        if len(set(words)) != len(words):
            dupes = sorted({w for w in words if words.count(w) > 1})
            raise ModelFileError(f"vocabulary has duplicate words: {', '.join(dupes[:5])}")
        if unk not in words:
            raise ModelFileError(f"vocabulary must contain the unknown-word token {unk!r}")
        self._vocab = tuple(words)
        self._index = {w: i for i, w in enumerate(words)}
        self.unk = unk
        self.unk_id = self._index[unk]

    @property
    def vocab(self) -> tuple[str, ...]:
        return self._vocab

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    def split(self, text: str) -> list[str]:
        return _WORD_RE.findall(text.lower())

    def encode(self, text: str) -> Encoding:
        ids: list[int] = []
        tokens: list[str] = []
        unknown: list[int] = []
        unknown_text: list[str] = []
        for pos, word in enumerate(self.split(text)):
            token_id = self._index.get(word)
            if token_id is None:
                unknown.append(pos)
                unknown_text.append(word)
                token_id = self.unk_id
            ids.append(token_id)
            tokens.append(self._vocab[token_id])
        return Encoding(tuple(ids), tuple(tokens), tuple(unknown), tuple(unknown_text))

    def decode(self, ids: Sequence[int]) -> str:
        words = [self.id_to_token(int(i)) for i in ids]
        text = " ".join(words)
        return re.sub(r" ([.,!?;:])", r"\1", text)

    def id_to_token(self, token_id: int) -> str:
        if not 0 <= token_id < len(self._vocab):
            raise TextError(f"token id {token_id} is outside the vocabulary (0..{len(self._vocab) - 1})")
        return self._vocab[token_id]

    def token_to_id(self, token: str) -> int | None:
        return self._index.get(token)

    def display(self, token: str) -> str:
        return token

    def to_spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "vocab": list(self._vocab), "unk": self.unk}


def _word_tokenizer(spec: dict[str, Any]) -> WordTokenizer:
    """A :class:`WordTokenizer` from its spec, naming the field whose JSON type is wrong."""
    vocab = spec.get("vocab")
    if not isinstance(vocab, list):
        raise ModelFileError(f"tokenizer 'vocab' must be a list of words, got {json_kind(vocab)}")
    wrong = next((i for i, word in enumerate(vocab) if not isinstance(word, str)), None)
    if wrong is not None:
        raise ModelFileError(f"tokenizer 'vocab' must hold only text; entry {wrong} is {json_kind(vocab[wrong])}")
    unk = spec.get("unk", UNK)
    if not isinstance(unk, str):
        raise ModelFileError(f"tokenizer 'unk' must be text, got {json_kind(unk)}")
    return WordTokenizer(vocab, unk)


_FACTORIES: dict[str, Any] = {"word": _word_tokenizer}


def register_tokenizer_kind(kind: str, factory: Any) -> None:
    """Let another module (e.g. the Hugging Face adapter) rebuild its tokenisers from specs."""
    _FACTORIES[kind] = factory


def tokenizer_from_spec(spec: dict[str, Any]) -> Tokenizer:
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ModelFileError("tokenizer description is missing its 'kind'")
    kind = spec["kind"]
    if not isinstance(kind, str):
        raise ModelFileError(f"tokenizer 'kind' must be text, got {json_kind(kind)}")
    if kind not in _FACTORIES and kind == "hf":
        import simulator.checkpoints  # noqa: F401  (registers the 'hf' kind)
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise ModelFileError(f"unknown tokenizer kind {kind!r}")
    try:
        return factory(spec)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"tokenizer description is invalid: {exc}") from exc
