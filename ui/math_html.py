"""Equations as they are written in a maths book: ``W_Q`` → W with a subscript Q, ``e^(x)`` → e
with a superscript x. The engine and the explanation files write equations in plain text
(readable in code and in the files); the views turn them into rich text only to show them."""

from __future__ import annotations

import html
import re

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
