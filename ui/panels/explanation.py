"""The explanation panel: what the current stage does and why, for a student, with real shapes.

Texts come from ``resources/explanations/<kind>.md`` (format in that folder's README), so they
can be edited without touching code. The Shapes line's placeholders are filled with the loaded
model's sizes and the sentence's length; the preset's own note for the stage is added below.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QFont, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from resources import RESOURCES_DIR
from simulator.stages import StageSpec
from ui.math_html import equation_html
from ui.state import AppState

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
        """The parsed text for a stage kind, read once and then cached (None if there is none)."""
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
        key = (sid, tuple(state.trace.dims.items()), self._point_size, self._unmasked(state.model.graph[sid]))
        if self._shown is not None and self._shown[0] is state.model and self._shown[1:] == key:
            return
        self._shown = (state.model, *key)
        if self._documents_model is not state.model or len(self._documents) >= MAX_DOCUMENTS:
            self._drop_documents()
            self._documents_model = state.model
        document = self._documents.get(key)
        if document is None:
            spec = state.model.graph[sid]
            document = QTextDocument(self)
            document.setDefaultFont(self.browser.font())
            document.setHtml(self._html(spec, self.explanation(spec.kind)))
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

    def _unmasked(self, spec: StageSpec) -> bool:
        """A masking stage (or the softmax after it) while the causal mask is off: the text about
        the mask must not read as if cells were hidden here."""
        return spec.kind in ("attn.masked", "attn.pattern") and not self._state.option("causal")

    def _html(self, spec: StageSpec, text: Explanation | None) -> str:
        state = self._state
        trace = state.trace
        dims = trace.dims
        size = self._point_size
        small = max(size - 2, 7)
        out = [
            f"<h2 style='margin-bottom:0'>{_esc(spec.title)}</h2>",
            f"<p style='margin-top:2px; color:#666666; font-size:{small}pt'>{_esc(spec.id)}</p>",
        ]
        if self._unmasked(spec):
            out.append(f"<p style='background:#fff4d6; padding:4px'><b>{_esc(NO_MASK_NOTE)}</b></p>")
        if text is not None:
            if text.heading:
                out.append(f"<p><i>{_inline(text.heading)}</i></p>")
            out.extend(f"<p>{_inline(p)}</p>" for p in text.paragraphs)
        else:
            out.append(
                f"<p><i>No explanation has been written for this step yet.</i> It computes "
                f"<b>{_esc(spec.title.lower())}</b>; the equation and shapes below say exactly how.</p>"
            )
        out.append(_heading("Equation"))
        out.append(_formula(spec.equation))
        if text is not None and text.equation and text.equation != spec.equation:
            out.append(_formula(text.equation))
        out.append(_heading("Shapes"))
        if text is not None and text.shapes:
            out.append(_formula(fill_shapes(text.shapes, dims)))
        stage = trace.stage(spec.id)
        out.append(f"<p>Here: <span style='font-family:monospace'>{_esc(stage.shape_text)}</span></p>")
        if text is not None and text.try_this:
            out.append(_heading("Try this"))
            out.append(f"<p>{_inline(text.try_this)}</p>")
        note = state.model.info.notes.get(spec.kind)
        if note:
            out.append(_heading("In this model"))
            out.append(f"<p>{_inline(note)}</p>")
        return "\n".join(out)


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
