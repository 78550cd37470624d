"""Equations as they are written in a maths book: ``W_Q`` → W with a subscript Q, ``e^(x)`` → e
with a superscript x. The engine and the explanation files write equations in plain text
(readable in code and in the files); the views turn them into rich text only to show them.

Text that depends on what is on screen is written once with variants, ``{rows: row | columns:
column}``, and :func:`choose_variants` picks the one that holds (the layout, where the model puts
LayerNorm, the causal mask, the tokeniser), so every view words it the same way."""

from __future__ import annotations

import html
import re
from typing import Collection

#: the conditions a variant may name: the layout on screen, where the model puts LayerNorm,
#: whether the mask is on, and whether the tokeniser cuts words into pieces
LAYOUT_CONDITIONS = {"rows": "rows", "columns": "columns"}
NORM_CONDITIONS = {"pre": "pre-LN", "post": "post-LN", "none": "no-LN"}
MASK_CONDITIONS = {True: "causal", False: "bidirectional"}
TOKENIZER_CONDITIONS = ("word-level", "subword")
CONDITIONS = frozenset(
    (*LAYOUT_CONDITIONS.values(), *NORM_CONDITIONS.values(), *MASK_CONDITIONS.values(), *TOKENIZER_CONDITIONS)
)
#: ``{key: text | key: text}``; the texts may hold placeholders such as ``{pos}`` (no colon inside)
_VARIANT_RE = re.compile(r"\{((?:[^{}]|\{[^{}:]*\})*?:(?:[^{}]|\{[^{}:]*\})*)\}")

_SUBSCRIPT = re.compile(r"(?<=[A-Za-zΔα-ωΑ-Ω'])_(\{[^}]*\}|[A-Za-z0-9]+)")
_SUPERSCRIPT = re.compile(r"\^(\([^)]*\)|[A-Za-z0-9]+)")


def equation_html(text: str) -> str:
    """``text`` escaped for Qt rich text, with ``_x`` / ``_{xy}`` as subscripts and ``^x`` /
    ``^(…)`` as superscripts."""
    out = html.escape(text, quote=False)
    out = _SUBSCRIPT.sub(lambda m: f"<sub>{_strip_braces(m.group(1))}</sub>", out)
    return _SUPERSCRIPT.sub(lambda m: f"<sup>{_strip_braces(m.group(1))}</sup>", out)


def equation_plain(text: str) -> str:
    """What :func:`equation_html` reads as once rendered (for tests and plain-text copies)."""
    text = _SUBSCRIPT.sub(lambda m: _strip_braces(m.group(1)), text)
    return _SUPERSCRIPT.sub(lambda m: _strip_braces(m.group(1)), text)


def _strip_braces(group: str) -> str:
    return group[1:-1] if group[:1] in "{(" and group[-1:] in "})" else group


def choose_variants(text: str, conditions: Collection[str]) -> str:
    """Resolve every ``{key: text | key, key: text}`` to the text of the first alternative whose
    keys include one of ``conditions`` (nothing if none does); other text is left as it is.

    Keys are the names in :data:`CONDITIONS`; a brace group whose keys are not all known (such
    as a ``{pos}`` placeholder) is not a variant.
    """

    def pick(match: re.Match[str]) -> str:
        alternatives = []
        for part in match.group(1).split("|"):
            keys, sep, body = part.partition(":")
            names = {k.strip() for k in keys.split(",")}
            if not sep or not names <= CONDITIONS:
                return match.group(0)
            alternatives.append((names, body.strip()))
        return next((body for names, body in alternatives if names & set(conditions)), "")

    return _VARIANT_RE.sub(pick, text)
