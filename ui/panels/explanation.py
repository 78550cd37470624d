"""The explanation panel: what the current stage does and why, for a student, with real shapes.

Texts come from ``resources/explanations/<key>.md``, the key being the stage kind's
``explanation`` in :mod:`simulator.stage_kinds` (format in that folder's README), so they
can be edited without touching code. Placeholders are filled with the loaded model's sizes and
the sentence's length, and variants (``{rows: … | columns: …}``, ``{pre-LN: … | post-LN: …}``)
are chosen for the layout on screen and the model's architecture, so a text never describes a
layout or a LayerNorm placement the student is not looking at. The preset's own note for the
stage, and the name of the head on screen, come first: they say what this model does here.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Collection

from PySide6.QtGui import QFont, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from resources import RESOURCES_DIR
from simulator import stage_kinds
from simulator.stages import StageSpec
from ui.math_html import LAYOUT_CONDITIONS, MASK_CONDITIONS, NORM_CONDITIONS, choose_variants, equation_html
from ui.state import LAYOUT_COLUMNS, AppState

EXPLANATIONS_DIR = RESOURCES_DIR / "explanations"
PLACEHOLDERS = ("pos", "d_model", "d_head", "n_heads", "d_mlp", "vocab")
DEFAULT_POINT_SIZE = 11
NO_MASK_NOTE = (
    "The causal mask is off here, so nothing is masked: every word sees every word of the sentence, "
    "as in BERT-like encoders. The text below describes what the mask does when it is on "
    "(View → Causal mask, Ctrl+Shift+M)."
)
#: at most this many stages' documents are kept (then the cache starts again)
MAX_DOCUMENTS = 128
#: symbols named once, shown under a stage whose text uses them
NOTATION = (
    ("d_head", "d_head: the size of one head's queries, keys and values (papers call it d_k)."),
    ("γ", "γ and β: LayerNorm's learned scale and shift, the w and b panels on the canvas."),
    ("ε", "ε: a tiny number added to the variance, so a token whose numbers are all equal is not divided by 0."),
    ("Φ", "Φ: the bell curve's cumulative probability, Φ(x) = P(a standard normal value ≤ x)."),
)

_SECTION_RE = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)
_CODE_RE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Explanation:
    """One stage kind's text, parsed from its Markdown file."""

    heading: str
    paragraphs: tuple[str, ...]
    equation: str
    shapes: str
    try_this: str


def parse_explanation(text: str) -> Explanation:
    """Split a stage file into its heading, paragraphs and the Equation/Shapes/Try this sections."""
    lines = text.strip().splitlines()
    heading = ""
    if lines and lines[0].startswith("# "):
        heading = lines[0][2:].strip()
        lines = lines[1:]
    body = "\n".join(lines)
    parts = _SECTION_RE.split(body)
    sections = {name.strip().lower(): content.strip() for name, content in zip(parts[1::2], parts[2::2])}
    return Explanation(
        heading=heading,
        paragraphs=_paragraphs(parts[0]),
        equation=_strip_code(sections.get("equation", "")),
        shapes=_strip_code(sections.get("shapes", "")),
        try_this=" ".join(sections.get("try this", "").split()),
    )


def fill_shapes(template: str, dims: dict[str, int]) -> str:
    """Replace ``{pos}``, ``{d_model}``, ... with numbers; other text is left as it is."""
    out = template
    for name in PLACEHOLDERS:
        if name in dims:
            out = out.replace("{" + name + "}", str(dims[name]))
    return out


def conditions_for(layout: str, norm: str, causal: bool = True, tokenizer_kind: str = "word") -> frozenset[str]:
    """The variant keys that hold for a layout (``rows``/``columns``), a ``ModelConfig.norm``,
    the causal option and a tokeniser kind (``word`` is word-level, any other cuts pieces)."""
    found = (
        LAYOUT_CONDITIONS.get(layout),
        NORM_CONDITIONS.get(norm),
        MASK_CONDITIONS[bool(causal)],
        "word-level" if tokenizer_kind == "word" else "subword",
    )
    return frozenset(c for c in found if c)


def resolve(text: str, conditions: Collection[str], dims: dict[str, int]) -> str:
    """A text as shown: variants chosen for ``conditions``, placeholders filled from ``dims``."""
    return fill_shapes(choose_variants(text, conditions), dims)


class ExplanationPanel(QWidget):
    """Rich text about the current stage: title, explanation, equation, shapes, what to try."""

    def __init__(self, state: AppState, parent: QWidget | None = None, explanations_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explanationPanel")
        self._state = state
        self._dir = Path(explanations_dir) if explanations_dir is not None else EXPLANATIONS_DIR
        self._cache: dict[str, Explanation | None] = {}
        self._point_size = DEFAULT_POINT_SIZE
        #: what the text was made for: (model, stage id, sizes, font size); unchanged means no redraw,
        #: so typing or moving the temperature does not scroll the text back to the top
        self._shown: tuple | None = None
        #: documents already made for this model, by (stage id, sizes, font size): going back to a
        #: stage shows its document again instead of parsing the HTML anew (stepping is frequent)
        self._documents: dict[tuple, QTextDocument] = {}
        self._documents_model: object = None
        self.browser = QTextBrowser(self)
        self.browser.setObjectName("explanationText")
        self.browser.setOpenLinks(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browser)
        self._apply_font()
        self._render()
        self._connect()

    # -- signals: the one place where the panel subscribes ------------------------------------------
    def _connect(self) -> None:
        s = self._state
        s.stage_changed.connect(self._render)
        s.trace_changed.connect(self._render)
        s.model_changed.connect(self._render)
        s.view_changed.connect(self._render)
        s.head_changed.connect(self._render)

    # -- public --------------------------------------------------------------------------------------
    def plain_text(self) -> str:
        """What the panel says, without formatting."""
        return self.browser.toPlainText()

    @property
    def point_size(self) -> int:
        """The text's point size (presentation mode enlarges it and puts it back)."""
        return self._point_size

    def set_font_point_size(self, size: int) -> None:
        """Larger text for presentation mode."""
        self._point_size = int(size)
        self._apply_font()
        self._drop_documents()
        self._render()

    def explanation(self, kind: str) -> Explanation | None:
        """The parsed text with a stage kind's explanation key (``StageKind.explanation``), read
        once and then cached (None if there is none)."""
        if kind not in self._cache:
            path = self._dir / f"{kind}.md"
            try:
                self._cache[kind] = parse_explanation(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                self._cache[kind] = None
        return self._cache[kind]

    # -- drawing ---------------------------------------------------------------------------------------
    def _apply_font(self) -> None:
        font = QFont(self.browser.font())
        font.setPointSize(self._point_size)
        self.browser.setFont(font)
        self.browser.document().setDefaultFont(font)

    def _render(self, *_: object) -> None:
        state = self._state
        sid = state.stage_id
        spec = state.model.graph[sid]
        key = (
            sid, tuple(state.trace.dims.items()), self._point_size, self._unmasked(spec),
            self._conditions(), state.head if self._head_name(spec) else None,
        )
        if self._shown is not None and self._shown[0] is state.model and self._shown[1:] == key:
            return
        self._shown = (state.model, *key)
        if self._documents_model is not state.model or len(self._documents) >= MAX_DOCUMENTS:
            self._drop_documents()
            self._documents_model = state.model
        document = self._documents.get(key)
        if document is None:
            document = QTextDocument(self)
            document.setDefaultFont(self.browser.font())
            document.setHtml(self._html(spec, self.explanation(stage_kinds.stage_kind(spec.kind).explanation)))
            self._documents[key] = document
        previous = self.browser.document()
        # ours, and dropped from the cache while it was on screen (the browser deletes its own)
        orphan = previous is not document and previous.parent() is self and previous not in self._documents.values()
        self.browser.setDocument(document)
        self.browser.verticalScrollBar().setValue(0)  # a new text starts at its top
        if orphan:
            previous.deleteLater()

    def _drop_documents(self) -> None:
        current = self.browser.document()
        for document in self._documents.values():
            if document is not current:
                document.deleteLater()
        self._documents.clear()

    def _conditions(self) -> frozenset[str]:
        state = self._state
        kind = getattr(state.model.tokenizer, "kind", "word")
        return conditions_for(state.view.layout, state.model.config.norm, bool(state.option("causal")), kind)

    def _head_name(self, spec: StageSpec) -> str:
        """The name the model gives the head on screen, for a stage drawn per head ('' if none)."""
        heads = self._state.model.labels.heads
        if heads is None or spec.layer is None or not spec.has_heads:
            return ""
        names = heads[spec.layer]
        head = self._state.head
        return names[head] if 0 <= head < len(names) else ""

    def _unmasked(self, spec: StageSpec) -> bool:
        """A masking stage (or the softmax after it) while the causal mask is off: the text about
        the mask must not read as if cells were hidden here."""
        return stage_kinds.stage_kind(spec.kind).about_mask and not self._state.option("causal")

    def _html(self, spec: StageSpec, text: Explanation | None) -> str:
        state = self._state
        trace = state.trace
        dims = trace.dims
        conditions = self._conditions()
        size = self._point_size
        small = max(size - 2, 7)

        def shown(part: str) -> str:
            return resolve(part, conditions, dims)

        out = [
            f"<h2 style='margin-bottom:0'>{_esc(spec.title)}</h2>",
            f"<p style='margin-top:2px; color:#666666; font-size:{small}pt'>{_esc(spec.id)}</p>",
        ]
        if self._unmasked(spec):
            out.append(f"<p style='background:#fff4d6; padding:4px'><b>{_esc(NO_MASK_NOTE)}</b></p>")
        head_name = self._head_name(spec)
        note = state.model.info.notes.get(spec.kind)
        if head_name or note:
            out.append(_heading("In this model"))
            if head_name:
                out.append(f"<p><b>{_esc(f'Layer {spec.layer}, head {state.head}: {head_name}')}</b></p>")
            if note:
                out.append(f"<p>{_inline(shown(note))}</p>")
        used = ""
        if text is not None:
            if text.heading:
                out.append(f"<p><i>{_inline(shown(text.heading))}</i></p>")
            paragraphs = [p for p in (shown(p) for p in text.paragraphs) if p]
            out.extend(f"<p>{_inline(p)}</p>" for p in paragraphs)
            used = " ".join(paragraphs)
        else:
            out.append(
                f"<p><i>No explanation has been written for this step yet.</i> It computes "
                f"<b>{_esc(spec.title.lower())}</b>; the equation and shapes below say exactly how.</p>"
            )
        out.append(_heading("Equation"))
        equation = shown(text.equation) if text is not None else ""
        # the engine writes its equations with queries as rows; a text that gives the other
        # layout's form replaces it, so the panel never contradicts the canvas
        if not (equation and LAYOUT_CONDITIONS[LAYOUT_COLUMNS] in conditions and _layout_bound(text.equation)):
            out.append(_formula(spec.equation))
            used += " " + spec.equation
        if equation and equation != spec.equation:
            out.append(_formula(equation))
        used += " " + equation
        out.append(_heading("Shapes"))
        if text is not None and text.shapes:
            out.append(_formula(shown(text.shapes)))
        stage = trace.stage(spec.id)
        out.append(f"<p>Here: <span style='font-family:monospace'>{_esc(stage.shape_text)}</span></p>")
        if text is not None and text.try_this:
            out.append(_heading("Try this"))
            out.append(f"<p>{_inline(shown(text.try_this))}</p>")
        named = [line for symbol, line in NOTATION if symbol in used]
        if named:
            out.append(_heading("Notation"))
            out.extend(f"<p style='margin-top:0; margin-bottom:0'>{equation_html(line)}</p>" for line in named)
        return "\n".join(out)


def _layout_bound(text: str) -> bool:
    """True when ``text`` reads differently with queries as rows and as columns."""
    return choose_variants(text, {"rows"}) != choose_variants(text, {"columns"})


def _paragraphs(text: str) -> tuple[str, ...]:
    blocks = re.split(r"\n\s*\n", text.strip())
    return tuple(" ".join(b.split()) for b in blocks if b.strip())


def _strip_code(text: str) -> str:
    line = " ".join(text.split())
    if len(line) >= 2 and line.startswith("`") and line.endswith("`"):
        line = line[1:-1].strip()
    return line


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _inline(text: str) -> str:
    """Escape, and show `code` spans in a monospace font."""
    return _CODE_RE.sub(lambda m: f"<code>{m.group(1)}</code>", _esc(text))


def _heading(name: str) -> str:
    return f"<h3 style='margin-bottom:2px'>{name}</h3>"


def _formula(text: str) -> str:
    return (
        "<p style='margin-top:2px; margin-bottom:4px'>"
        f"<span style='font-family:serif; background-color:#f2f2f2'>&nbsp;{equation_html(text)}&nbsp;</span></p>"
    )
