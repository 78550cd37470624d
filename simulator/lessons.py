"""Lessons: plain-text Markdown files of steps that set up a view and ask the student questions.

A lesson names what to compute for each question (``compute: argmax row creature``), never the
answer: :func:`answer` asks the engine at that moment, so a lesson stays true when the student
(or the teacher) edits the model. The format is documented in ``resources/docs/lesson-format.md``.

    lesson = load_lesson("queries-and-keys")        # a built-in id, or a path to a .md file
    problems = check(lesson)                        # [] when every step and question is sound
    question = lesson.questions()[0]
    truth = answer(question, simulator.load("fluffy"))
    result = grade(question, "creature blue", simulator.load("fluffy"))

This module never imports Qt.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from simulator.errors import SimulatorError
from simulator.model import Model
from simulator.trace import Trace

#: Where the built-in lessons live (package data of ``resources``).
LESSON_DIR = Path(__file__).resolve().parent.parent / "resources" / "lessons"

HEADER_KEYS = ("id", "title", "concepts", "preset", "model")
REQUIRED_HEADER = ("id", "title", "concepts")
SWITCHES = ("causal", "scale", "columns", "numbers", "contrast")
STEP_KEYS = ("preset", "model", "sentence", "stage", "layer", "head", *SWITCHES, "temperature", "zoom",
             "highlight", "lock", "hide")
#: Controls a step may lock or hide.
CONTROLS = ("model", "sentence", "stage", "layer", "head", *SWITCHES, "temperature", "zoom", "weights")
QUESTION_TYPES = ("pick-cell", "choice", "number", "sign", "make-it-happen")
QUESTION_KEYS = ("type", "prompt", "stage", "layer", "head", "compute", "options", "tolerance", "after",
                 "goal", "phrases", "edit", "explain")
_REQUIRED = {
    "pick-cell": ("prompt", "compute"),
    "choice": ("prompt", "compute", "options"),
    "number": ("prompt", "compute", "tolerance"),
    "sign": ("prompt", "compute"),
    "make-it-happen": ("prompt", "goal", "phrases"),
}
_ON = {"on": True, "yes": True, "true": True, "off": False, "no": False, "false": False}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SETTING = re.compile(r"^([a-z][a-z-]*):(?:\s+(.*))?$")


class LessonError(SimulatorError):
    """A lesson file cannot be read, or a question cannot be computed for this model."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a lesson, at a line of its file (0 when the file as a whole)."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class Field:
    """A ``key: value`` line of a lesson file."""

    value: str
    line: int


@dataclass(frozen=True)
class View:
    """What the engine needs to compute at a step: which model, input, stage, head and options.

    Every step inherits the previous step's view and changes only what it sets."""

    source: str = ""
    source_line: int = 0
    sentence: str = ""
    sentence_line: int = 0
    stage: str = ""
    stage_line: int = 0
    layer: int | None = None
    head: int = 0
    head_line: int = 0
    causal: bool | None = None
    scale: bool | None = None
    temperature: float = 1.0


@dataclass(frozen=True)
class Question:
    """One question of a step, with the view it is computed in (its own stage or head, if set)."""

    type: str
    prompt: str
    fields: Mapping[str, Field]
    view: View
    line: int

    def get(self, key: str, default: str = "") -> str:
        found = self.fields.get(key)
        return found.value if found is not None else default

    def line_of(self, key: str) -> int:
        found = self.fields.get(key)
        return found.line if found is not None else self.line


@dataclass(frozen=True)
class Highlight:
    """A row, column or cell to highlight, named by labels as the student sees them."""

    kind: str  # "row", "column" or "cell"
    labels: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Step:
    """One screen of a lesson: settings, text, and at most one question."""

    title: str
    line: int
    settings: Mapping[str, Field]
    text: str
    view: View
    highlights: tuple[Highlight, ...] = ()
    lock: tuple[str, ...] = ()
    hide: tuple[str, ...] = ()
    question: Question | None = None

    def switch(self, name: str) -> bool | None:
        """The step's own setting of a toggle (``columns``, ``numbers``, ...), None if unset."""
        found = self.settings.get(name)
        return None if found is None else _ON.get(found.value.lower())

    @property
    def zoom(self) -> float | None:
        found = self.settings.get("zoom")
        return None if found is None else _number(found.value)


@dataclass(frozen=True)
class Lesson:
    """A parsed lesson; ``problems`` lists what the parser already found wrong."""

    id: str
    title: str
    concepts: tuple[str, ...]
    intro: str
    steps: tuple[Step, ...]
    path: Path | None = None
    problems: tuple[Problem, ...] = ()

    def questions(self) -> list[Question]:
        return [s.question for s in self.steps if s.question is not None]

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()


@dataclass(frozen=True)
class Answer:
    """What the engine computes for a question.

    ``value`` is, by question type: a frozenset of (row, column) index pairs (pick-cell), a
    frozenset of acceptable option texts (choice; more than one when the engine has a tie), a
    float (number), "up"/"down"/"same" or "positive"/"negative"/"zero" (sign), or a tuple of
    (phrase, passed, detail) triples (make-it-happen)."""

    value: Any
    text: str


@dataclass(frozen=True)
class Grade:
    """A graded response: right or wrong, the truth beside the prediction, and the gap."""

    correct: bool
    truth: Answer
    feedback: str


# -- parsing --------------------------------------------------------------------------------------
def parse(text: str, path: Path | None = None) -> Lesson:
    """Read a lesson file's text; problems of form (not of meaning) are listed, never raised."""
    lines = text.splitlines()
    problems: list[Problem] = []
    header, body_start = _header(lines, problems)
    base = View()
    for key in ("preset", "model"):
        if key in header:
            base = replace(base, source=f"{key}:{header[key].value}", source_line=header[key].line)
    if "preset" in header and "model" in header:
        problems.append(Problem(header["model"].line, "give either preset or model, not both"))
    # sections: (heading line, title) or None for the introduction, with their lines
    sections: list[tuple[tuple[int, str] | None, list[tuple[int, str]]]] = [(None, [])]
    for number, raw in enumerate(lines[body_start:], start=body_start + 1):
        if raw.startswith("## "):
            sections.append(((number, raw[3:].strip()), []))
        else:
            sections[-1][1].append((number, raw))
    steps: list[Step] = []
    view = base
    for title, chunk in sections[1:]:
        assert title is not None  # (only the introduction has none)
        steps.append(_step(title, chunk, view, problems))
        view = steps[-1].view
    intro = [raw for _, raw in sections[0][1]]
    if not steps:
        problems.append(Problem(min(body_start + 1, max(len(lines), 1)), "the lesson has no steps: start each with a '## ' heading"))
    elif not base.source and not steps[0].settings.keys() & {"preset", "model"}:
        problems.append(Problem(1, "no model: give 'preset: NAME' or 'model: FILE' in the header or the first step"))
    if steps and not steps[0].view.sentence:
        problems.append(Problem(steps[0].line, "no sentence: the first step must set 'sentence:'"))
    ident = header.get("id")
    concepts = tuple(c.strip() for c in header["concepts"].value.split(",") if c.strip()) if "concepts" in header else ()
    return Lesson(
        id=ident.value if ident else "",
        title=header["title"].value if "title" in header else "",
        concepts=concepts,
        intro="\n".join(intro).strip(),
        steps=tuple(steps),
        path=path,
        problems=tuple(problems),
    )


def _header(lines: list[str], problems: list[Problem]) -> tuple[dict[str, Field], int]:
    """The ``---`` block at the top: ``key: value`` lines."""
    fields: dict[str, Field] = {}
    if not lines or lines[0].strip() != "---":
        problems.append(Problem(1, "a lesson starts with a header between two '---' lines (id, title, concepts)"))
        return fields, 0
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        problems.append(Problem(1, "the header is not closed: add a line '---' after it"))
        return fields, len(lines)
    for i in range(1, end):
        if not lines[i].strip():
            continue
        match = _SETTING.match(lines[i].strip())
        if match is None or match.group(1) not in HEADER_KEYS:
            key = match.group(1) if match else lines[i].strip()
            problems.append(Problem(i + 1, _unknown("header field", key, HEADER_KEYS)))
            continue
        fields[match.group(1)] = Field((match.group(2) or "").strip(), i + 1)
    for key in REQUIRED_HEADER:
        if not fields.get(key, Field("", 0)).value:
            problems.append(Problem(fields[key].line if key in fields else 1, f"the header needs '{key}:'"))
    if "id" in fields and fields["id"].value and not _ID.match(fields["id"].value):
        problems.append(Problem(fields["id"].line, "id must be lower-case letters, digits and '-'"))
    return fields, end + 1


def _step(title: tuple[int, str], chunk: list[tuple[int, str]], view: View, problems: list[Problem]) -> Step:
    line, heading = title
    if not heading:
        problems.append(Problem(line, "a step needs a title after '## '"))
    settings: dict[str, Field] = {}
    rest = list(chunk)
    while rest and not rest[0][1].strip():
        rest.pop(0)
    if rest and _SETTING.match(rest[0][1].strip()):
        while rest and rest[0][1].strip():
            number, raw = rest.pop(0)
            match = _SETTING.match(raw.strip())
            if match is None or match.group(1) not in STEP_KEYS:
                key = match.group(1) if match else raw.strip()
                problems.append(Problem(number, _unknown("setting", key, STEP_KEYS)))
                continue
            if match.group(1) in settings:
                problems.append(Problem(number, f"'{match.group(1)}' is set twice in this step"))
            settings[match.group(1)] = Field((match.group(2) or "").strip(), number)
    text: list[str] = []
    block: list[tuple[int, str]] | None = None  # the lines of an open question block
    question_lines: list[tuple[int, str]] = []
    question_line = 0
    for number, raw in rest:
        if block is None and raw.strip() == "```question":
            if question_line:
                problems.append(Problem(number, "a step asks at most one question"))
            block, question_line = [], number
        elif block is not None and raw.strip() == "```":
            question_lines, block = block, None
        elif block is not None:
            block.append((number, raw))
        else:
            text.append(raw)
    if block is not None:
        problems.append(Problem(question_line, "the question block is not closed: add a line '```'"))
        question_lines = block
    view = _view(view, settings, problems)
    lock = _controls(settings.get("lock"), problems)
    hide = _controls(settings.get("hide"), problems)
    highlights = _highlights(settings.get("highlight"), problems)
    q = _question(question_line, _question_fields(question_lines, problems), view, problems) if question_line else None
    return Step(heading, line, settings, "\n".join(text).strip(), view, highlights, lock, hide, q)


def _question_fields(lines: list[tuple[int, str]], problems: list[Problem]) -> dict[str, Field]:
    """The ``key: value`` lines of a question block."""
    fields: dict[str, Field] = {}
    for number, raw in lines:
        if not raw.strip():
            continue
        match = _SETTING.match(raw.strip())
        if match is None or match.group(1) not in QUESTION_KEYS:
            key = match.group(1) if match else raw.strip()
            if key == "answer":
                problems.append(Problem(number, "a question names what to compute ('compute: ...'), never its answer"))
            else:
                problems.append(Problem(number, _unknown("question field", key, QUESTION_KEYS)))
            continue
        fields[match.group(1)] = Field((match.group(2) or "").strip(), number)
    return fields


def _question(line: int, fields: dict[str, Field], view: View, problems: list[Problem]) -> Question | None:
    kind = fields.get("type")
    if kind is None:
        problems.append(Problem(line, f"the question needs 'type:' ({', '.join(QUESTION_TYPES)})"))
        return None
    if kind.value not in QUESTION_TYPES:
        problems.append(Problem(kind.line, _unknown("question type", kind.value, QUESTION_TYPES)))
        return None
    missing = [k for k in _REQUIRED[kind.value] if not fields.get(k, Field("", 0)).value]
    for key in missing:
        problems.append(Problem(fields[key].line if key in fields else line, f"a {kind.value} question needs '{key}:'"))
    if missing:
        return None
    own = _view(view, {k: v for k, v in fields.items() if k in ("stage", "layer", "head")}, problems)
    return Question(kind.value, fields["prompt"].value, dict(fields), own, line)


def _view(view: View, settings: Mapping[str, Field], problems: list[Problem]) -> View:
    """The view after a step's (or question's) settings, checking their form."""
    changes: dict[str, Any] = {}
    for key in ("preset", "model"):
        if key in settings:
            changes.update(source=f"{key}:{settings[key].value}", source_line=settings[key].line)
    if "sentence" in settings:
        changes.update(sentence=settings["sentence"].value, sentence_line=settings["sentence"].line)
        if not settings["sentence"].value:
            problems.append(Problem(settings["sentence"].line, "the sentence is empty"))
    if "stage" in settings:
        changes.update(stage=settings["stage"].value, stage_line=settings["stage"].line)
        found = re.match(r"^blocks\.(\d+)\.", settings["stage"].value)
        if found:
            changes["layer"] = int(found.group(1))
    for key in ("layer", "head"):
        if key in settings:
            value = settings[key].value
            if not value.isdigit():
                problems.append(Problem(settings[key].line, f"{key} must be a whole number from 0, got {value!r}"))
            else:
                changes[key] = int(value)
                if key == "head":
                    changes["head_line"] = settings[key].line
    for key in SWITCHES:
        if key in settings and settings[key].value.lower() not in _ON:
            problems.append(Problem(settings[key].line, f"{key} must be on or off, got {settings[key].value!r}"))
        elif key in ("causal", "scale") and key in settings:
            changes[key] = _ON[settings[key].value.lower()]
    for key in ("temperature", "zoom"):
        if key in settings:
            number = _number(settings[key].value)
            if number is None or number <= 0:
                problems.append(Problem(settings[key].line, f"{key} must be a positive number, got {settings[key].value!r}"))
            elif key == "temperature":
                changes["temperature"] = number
    return replace(view, **changes)


def _controls(found: Field | None, problems: list[Problem]) -> tuple[str, ...]:
    if found is None:
        return ()
    names = tuple(n.strip() for n in found.value.split(",") if n.strip())
    for name in names:
        if name not in CONTROLS:
            problems.append(Problem(found.line, _unknown("control", name, CONTROLS)))
    return tuple(n for n in names if n in CONTROLS)


def _highlights(found: Field | None, problems: list[Problem]) -> tuple[Highlight, ...]:
    if found is None:
        return ()
    out = []
    for part in found.value.split(";"):
        words = _words(part)
        if not words:
            continue
        need = {"row": 1, "column": 1, "cell": 2}.get(words[0])
        if need is None or len(words) != need + 1:
            problems.append(Problem(found.line, f"highlight {part.strip()!r}: write 'row R', 'column C' or 'cell R C' "
                                                "(several separated by ';')"))
            continue
        out.append(Highlight(words[0], tuple(words[1:]), found.line))
    return tuple(out)


def _words(text: str) -> list[str]:
    """Split on spaces, keeping 'quoted labels' (and "double-quoted" ones) whole."""
    return [a or b or c for a, b, c in re.findall(r"'([^']*)'|\"([^\"]*)\"|(\S+)", text)]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _unknown(what: str, word: str, choices: Sequence[str]) -> str:
    """"unknown setting 'casual' (did you mean 'causal'?)", or the list of what is allowed."""
    hint = _close(word, choices)
    return f"unknown {what} {word!r}{hint}" if hint else f"unknown {what} {word!r} (one of: {', '.join(choices)})"


def _close(word: str, choices: Iterable[str]) -> str:
    found = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {found[0]!r}?)" if found else ""


# -- finding lessons ------------------------------------------------------------------------------
def builtin_lessons() -> list[Lesson]:
    """Every built-in lesson, in file-name order (the files are numbered)."""
    return [read_lesson(p) for p in sorted(LESSON_DIR.glob("*.md"))]


def read_lesson(path: str | Path) -> Lesson:
    """Parse a lesson file; an unreadable file is a :class:`LessonError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LessonError(f"{path.name} is not a text file (it is not UTF-8)") from None
    except OSError as exc:
        raise LessonError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse(text, path)


def load_lesson(id_or_path: str) -> Lesson:
    """A built-in lesson by id, or a lesson file by path."""
    for path in sorted(LESSON_DIR.glob("*.md")):
        lesson = read_lesson(path)
        if lesson.id == id_or_path:
            return lesson
    path = Path(id_or_path)
    if path.is_dir():
        raise LessonError(f"{id_or_path} is a folder, not a lesson file")
    if path.is_file():
        return read_lesson(path)
    ids = [lesson.id for lesson in builtin_lessons()]
    raise LessonError(f"no built-in lesson or file named {id_or_path!r}{_close(id_or_path, ids)}")


# -- the engine side ------------------------------------------------------------------------------
def model_for(view: View, base_dir: Path | None = None) -> Model:
    """A fresh model for a view's ``preset:`` or ``model:`` (model files relative to the lesson)."""
    from simulator import build_preset, load

    kind, _, name = view.source.partition(":")
    if kind == "preset":
        return build_preset(name)
    path = Path(name)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return load(str(path))


def stage_id(view: View, model: Model) -> str:
    """The full stage id of a view: ``attn.pattern`` with ``layer: 1`` is ``blocks.1.attn.pattern``."""
    if not view.stage:
        raise LessonError("no stage: set 'stage:' in this step or an earlier one")
    if view.stage in model.graph:
        return view.stage
    if view.layer is not None and f"blocks.{view.layer}.{view.stage}" in model.graph:
        return f"blocks.{view.layer}.{view.stage}"
    kinds = {spec.kind for spec in model.graph.values()}
    if view.stage in kinds and view.layer is None:
        raise LessonError(f"stage {view.stage!r} is in every block: set 'layer:' or write blocks.0.{view.stage}")
    if view.layer is not None and view.layer >= model.config.n_layers:
        raise LessonError(f"layer {view.layer} is outside the model (layers 0..{model.config.n_layers - 1})")
    hint = _close(view.stage, list(model.graph) + sorted(kinds))
    raise LessonError(f"unknown stage {view.stage!r}{hint}")


def trace_for(view: View, model: Model, sentence: str | None = None) -> Trace:
    """The engine's forward pass for a view (or for another sentence in the same view)."""
    text = view.sentence if sentence is None else sentence
    trace = model.trace(text, temperature=view.temperature, causal=view.causal, scale_scores=view.scale)
    if trace.unknown:
        words = ", ".join(repr(w) for w in trace.unknown_text) or "some words"
        raise LessonError(f"the sentence {text!r} has words this model does not know: {words}")
    return trace


@dataclass(frozen=True)
class _Matrix:
    """A stage's values for one head, as rows × columns, with the labels the student sees."""

    data: np.ndarray
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    name: str


def _matrix(view: View, model: Model, sentence: str | None = None) -> _Matrix:
    sid = stage_id(view, model)
    stage = trace_for(view, model, sentence).stage(sid)
    data, labels = np.asarray(stage.data, dtype=float), stage.axis_labels
    name = sid
    if stage.spec.has_heads:
        if view.head >= data.shape[0]:
            raise LessonError(f"head {view.head} is outside {sid} (heads 0..{data.shape[0] - 1})")
        data, labels = data[view.head], labels[1:]
        name = f"{sid} head {view.head}"
    if data.ndim == 1:
        data, labels = data[None, :], (("",), labels[0])
    if data.ndim != 2:
        raise LessonError(f"{sid} is not a matrix of rows and columns")
    return _Matrix(data, tuple(labels[0]), tuple(labels[1]), name)


def _index(label: str, labels: Sequence[str], what: str, where: str) -> int:
    """A row or column by its label (a word, a dimension name) or by its number from 0."""
    if re.fullmatch(r"\d+", label):
        i = int(label)
        if i >= len(labels):
            raise LessonError(f"{what} {i} is outside the matrix: {where} has {len(labels)} {what}s (0..{len(labels) - 1})")
        return i
    found = [i for i, name in enumerate(labels) if name == label]
    if len(found) == 1:
        return found[0]
    if found:
        raise LessonError(f"{label!r} is {what} {', '.join(map(str, found))} of {where}: write the number instead")
    shown = ", ".join(labels[:12]) + (", ..." if len(labels) > 12 else "")
    raise LessonError(f"{label!r} is not a {what} of {where} ({what}s: {shown})")


def _cell_text(m: _Matrix, r: int, c: int) -> str:
    return f"({m.rows[r]}, {m.columns[c]})" if m.rows != ("",) else m.columns[c]


_REDUCERS: dict[str, Callable[[np.ndarray], float]] = {
    "sum": lambda v: float(np.sum(v)),
    "mean": lambda v: float(np.mean(v)),
    "max": lambda v: float(np.max(v)),
    "min": lambda v: float(np.min(v)),
    "std": lambda v: float(np.std(v)),
    "norm": lambda v: float(np.linalg.norm(v)),
}


def _value(expr: str, m: _Matrix) -> tuple[float, str]:
    """A number named by an expression over the matrix (see the lesson-format document)."""
    words = _words(expr)
    if not words:
        raise LessonError("compute is empty")
    op, args = words[0], words[1:]
    if op == "cell" and len(args) == 1 and m.rows == ("",):  # a stage with one axis: tokens
        args = ["0", args[0]]
    if op == "cell" and len(args) == 2:
        r, c = _index(args[0], m.rows, "row", m.name), _index(args[1], m.columns, "column", m.name)
        return float(m.data[r, c]), f"{m.name} {_cell_text(m, r, c)}"
    if op in ("cosine", "dot") and len(args) == 4 and args[0] == "row" and args[2] == "row":
        a = m.data[_index(args[1], m.rows, "row", m.name)]
        b = m.data[_index(args[3], m.rows, "row", m.name)]
        dot = float(a @ b)
        if op == "dot":
            return dot, f"{args[1]} · {args[3]} in {m.name}"
        size = float(np.linalg.norm(a) * np.linalg.norm(b))
        if size == 0:
            raise LessonError(f"cosine of a zero row in {m.name}")
        return dot / size, f"cosine({args[1]}, {args[3]}) in {m.name}"
    if op in _REDUCERS and (not args or (len(args) == 2 and args[0] in ("row", "column"))):
        if not args:
            values, what = m.data, f"{op} of the finite entries of {m.name}"
        elif args[0] == "row":
            values, what = m.data[_index(args[1], m.rows, "row", m.name)], f"{op} of row {args[1]} of {m.name}"
        else:
            values, what = m.data[:, _index(args[1], m.columns, "column", m.name)], f"{op} of column {args[1]} of {m.name}"
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            raise LessonError(f"{what}: there are no finite numbers to take it of")
        return _REDUCERS[op](finite), what
    raise LessonError(f"cannot compute {expr!r}: write cell R C, cosine row A row B, dot row A row B, "
                      f"or sum/mean/max/min/std/norm [row R | column C]")


def _cells(expr: str, m: _Matrix) -> frozenset[tuple[int, int]]:
    """Cells named by an expression: argmax/argmin [row R | column C] [among A, B], masked, zero."""
    words = _words(expr)
    if words == ["masked"]:
        return frozenset((int(r), int(c)) for r, c in np.argwhere(np.isneginf(m.data)))
    if words == ["zero"]:
        return frozenset((int(r), int(c)) for r, c in np.argwhere(m.data == 0))
    if not words or words[0] not in ("argmax", "argmin"):
        raise LessonError(f"cannot pick cells by {expr!r}: write argmax/argmin [row R | column C] [among A, B], "
                          "masked or zero")
    pick, args = words[0], words[1:]
    among: list[str] = []
    if "among" in args:
        cut = args.index("among")
        among = [a.strip() for a in " ".join(args[cut + 1:]).split(",") if a.strip()]
        args = args[:cut]
    rows: Sequence[int]
    cols: Sequence[int]
    if not args:
        rows, cols = range(m.data.shape[0]), range(m.data.shape[1])
    elif len(args) == 2 and args[0] == "row":
        rows = [_index(args[1], m.rows, "row", m.name)]
        cols = [_index(a, m.columns, "column", m.name) for a in among] if among else range(m.data.shape[1])
    elif len(args) == 2 and args[0] == "column":
        cols = [_index(args[1], m.columns, "column", m.name)]
        rows = [_index(a, m.rows, "row", m.name) for a in among] if among else range(m.data.shape[0])
    else:
        raise LessonError(f"cannot pick cells by {expr!r}: write argmax/argmin [row R | column C] [among A, B]")
    candidates = [(r, c) for r in rows for c in cols if not np.isnan(m.data[r, c])]
    if not candidates:
        raise LessonError(f"{expr!r}: every candidate cell is NaN")
    values = [m.data[r, c] for r, c in candidates]
    best = max(values) if pick == "argmax" else min(values)
    return frozenset(cell for cell, v in zip(candidates, values) if v == best)


def _label_of(cells: frozenset[tuple[int, int]], expr: str, m: _Matrix) -> frozenset[str]:
    """The labels a picked cell stands for: its column for a row question, its row for a column one."""
    words = _words(expr)
    by_row = len(words) > 1 and words[1] == "row"
    return frozenset(m.columns[c] if by_row or m.rows == ("",) else m.rows[r] for r, c in cells)


def _apply_changes(text: str, view: View, model: Model) -> tuple[View, Model]:
    """The view and a copy of the model after an ``after:`` list of changes (the original untouched)."""
    edited: Model | None = None
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        words = part.split()
        if words[0] in ("causal", "scale") and len(words) == 2 and words[1].lower() in _ON:
            view = replace(view, causal=_ON[words[1].lower()]) if words[0] == "causal" else replace(view, scale=_ON[words[1].lower()])
            continue
        if words[0] == "temperature" and len(words) == 2 and (_number(words[1]) or 0) > 0:
            view = replace(view, temperature=float(words[1]))
            continue
        if words[0] == "sentence":
            view = replace(view, sentence=part[len("sentence"):].strip())
            continue
        found = re.fullmatch(r"([\w.]+)\[([^\]]*)\]\s*(=|\+=|-=|\*=)\s*(\S+)", part)
        if found is None:
            raise LessonError(f"cannot apply {part!r}: write 'causal on|off', 'scale on|off', 'temperature T', "
                              "'sentence TEXT' or 'PARAM[i, j] = v' (also +=, -=, *=)")
        name, index_text, op, number = found.groups()
        value = _number(number)
        if value is None:
            raise LessonError(f"{part!r}: {number!r} is not a number")
        if edited is None:
            edited = _copy(model)
        if name not in edited.params:
            raise LessonError(f"no parameter named {name!r}" + _close(name, list(edited.params)))
        shape = edited.params[name].shape
        parts = [p.strip() for p in index_text.split(",")]
        if len(parts) != len(shape):
            raise LessonError(f"{name} has {len(shape)} axes: give one index for each")
        index = tuple(_param_index(p, size, edited, name) for p, size in zip(parts, shape))
        old = float(edited.params[name][index])
        new = {"=": value, "+=": old + value, "-=": old - value, "*=": old * value}[op]
        edited.set_param(name, new, index=index)
    return view, edited if edited is not None else model


def _param_index(text: str, size: int, model: Model, name: str) -> int:
    """An index along a parameter axis of ``size``: a number, or a dimension name on a d_model
    axis, or a vocabulary word on a vocabulary axis."""
    if re.fullmatch(r"\d+", text):
        if int(text) >= size:
            raise LessonError(f"index {text} is outside {name} (that axis has {size} entries: 0..{size - 1})")
        return int(text)
    dims = model.labels.dims or ()
    if size == model.config.d_model and text in dims:
        return dims.index(text)
    vocab = model.axis_labels("vocab", None, model.config.vocab_size)
    if size == model.config.vocab_size and text in vocab:
        return vocab.index(text)
    raise LessonError(f"index {text!r} of {name}: give a number, a dimension name (d_model axes) "
                      "or a word (vocabulary axes)")


def _copy(model: Model) -> Model:
    """An independent copy with the same weights (a hypothetical edit never touches the student's)."""
    return Model(model.config, dict(model.params), model.tokenizer, model.labels, model.info)


def _sign(x: float, tolerance: float, words: tuple[str, str, str]) -> str:
    return words[0] if x > tolerance else words[1] if x < -tolerance else words[2]


_UP = ("up", "down", "same")
_POSITIVE = ("positive", "negative", "zero")
_SYNONYMS = {"raise": "up", "rise": "up", "higher": "up", "increase": "up", "more": "up", "+": "up",
             "lower": "down", "fall": "down", "decrease": "down", "less": "down", "-": "down",
             "unchanged": "same", "equal": "same", "pos": "positive", ">0": "positive", "neg": "negative",
             "<0": "negative", "0": "zero"}


# -- graders for make-it-happen -------------------------------------------------------------------
def _attends_more(args: list[str], view: View, model: Model, phrase: str) -> tuple[bool, str]:
    """attends-more QUERY A B: the query word's attention to A beats its attention to B
    (QUERY ``last`` is the phrase's last word, so the phrases need not share their noun)."""
    if len(args) != 3:
        raise LessonError("attends-more needs three words: QUERY A B")
    m = _matrix(replace(view, stage="attn.pattern") if "pattern" not in view.stage else view, model, phrase)
    where = f"{m.name} of {phrase!r}"
    q = len(m.rows) - 1 if args[0] == "last" else _index(args[0], m.rows, "row", where)
    a, b = (_index(w, m.columns, "column", where) for w in args[1:])
    pa, pb = m.data[q, a], m.data[q, b]
    return bool(pa > pb), f"{m.rows[q]}→{args[1]} {pa:.2f}, {m.rows[q]}→{args[2]} {pb:.2f}"


def _previous_token(args: list[str], view: View, model: Model, phrase: str) -> tuple[bool, str]:
    """previous-token: every word after the first attends most to the word just before it."""
    m = _matrix(replace(view, stage="attn.pattern") if "pattern" not in view.stage else view, model, phrase)
    misses = [m.rows[i] for i in range(1, m.data.shape[0]) if int(np.argmax(m.data[i])) != i - 1]
    return not misses, "every word looks one back" if not misses else f"not for {', '.join(misses)}"


def _predicts(args: list[str], view: View, model: Model, phrase: str) -> tuple[bool, str]:
    """predicts WORD: after the phrase, WORD is more likely than any other word (a tie is not enough)."""
    if len(args) != 1:
        raise LessonError("predicts needs one word")
    m = _matrix(replace(view, stage="probs"), model, phrase)
    row = m.data[-1]
    word = _index(args[0], m.columns, "column", f"the vocabulary of {m.name}")
    others = np.delete(row, word)
    top = m.columns[int(np.argmax(row))]
    return bool(row[word] > others.max()), f"P({args[0]}) {row[word]:.2f}, top next word {top!r}"


#: Named graders: (arguments, view, model, held-out phrase) -> (passed, what was seen).
GRADERS: dict[str, Callable[[list[str], View, Model, str], tuple[bool, str]]] = {
    "attends-more": _attends_more,
    "previous-token": _previous_token,
    "predicts": _predicts,
}


# -- answering and grading ------------------------------------------------------------------------
def answer(question: Question, model: Model | Trace) -> Answer:
    """What the engine says the answer is now (for a trace: with the trace's model).

    Raises :class:`LessonError` when the question cannot be computed for this model."""
    if isinstance(model, Trace):
        model = model.model
    try:
        return _answer(question, model)
    except LessonError:
        raise
    except SimulatorError as exc:
        raise LessonError(str(exc)) from None


def _answer(q: Question, model: Model) -> Answer:
    if q.type == "make-it-happen":
        words = _words(q.get("goal"))
        grader = GRADERS.get(words[0]) if words else None
        if grader is None:
            raise LessonError(f"unknown grader {q.get('goal')!r} (graders: {', '.join(GRADERS)})")
        results = []
        for phrase in (p.strip() for p in q.get("phrases").split("|")):
            if phrase:
                passed, seen = grader(words[1:], q.view, model, phrase)
                results.append((phrase, passed, seen))
        done = sum(1 for _, ok, _ in results if ok)
        text = f"{done} of {len(results)} unseen phrases pass: " + "; ".join(f"{p!r} {s}" for p, _, s in results)
        return Answer(tuple(results), text)
    expr = q.get("compute")
    if q.type != "sign" and q.get("after"):  # the answer after the changes, e.g. "what will it be?"
        base = _matrix(*_apply_changes(q.get("after"), q.view, model))
    else:
        base = _matrix(q.view, model)
    if q.type == "pick-cell":
        cells = _cells(expr, base)
        return Answer(cells, " or ".join(_cell_text(base, r, c) for r, c in sorted(cells)))
    if q.type == "choice":
        labels = _label_of(_cells(expr, base), expr, base)
        options = [o.strip() for o in q.get("options").split("|") if o.strip()]
        right = frozenset(o for o in options if o in labels)
        return Answer(right, " or ".join(sorted(labels)))
    if q.type == "number":
        value, what = _value(expr, base)
        return Answer(value, f"{value:.4g} ({what})")
    before, what = _value(expr, base)
    tolerance = _tolerance(q.get("tolerance", "1e-9"), before)
    if not q.get("after"):
        word = _sign(before, tolerance, _POSITIVE)
        return Answer(word, f"{word}: {what} is {before:.4g}")
    view, edited = _apply_changes(q.get("after"), q.view, model)
    after, _ = _value(expr, _matrix(view, edited))
    word = _sign(after - before, tolerance, _UP)
    return Answer(word, f"{word}: {what} goes from {before:.4g} to {after:.4g}")


def _tolerance(text: str, truth: float) -> float:
    text = text.strip()
    if text.endswith("%"):
        share = _number(text[:-1])
        if share is None or share < 0:
            raise LessonError(f"tolerance {text!r} must be a number or a percentage")
        return abs(truth) * share / 100
    value = _number(text)
    if value is None or value < 0:
        raise LessonError(f"tolerance {text!r} must be a number or a percentage")
    return value


def grade(question: Question, response: Any, model: Model | Trace) -> Grade:
    """Compare a student's response with the engine's answer now.

    Responses by type: pick-cell ``(row, column)`` as labels or numbers, or the text "row column";
    choice the option's text (or its number from 0); number a number; sign "up"/"down"/"same"
    (with ``after:``) or "positive"/"negative"/"zero"; make-it-happen the student's edited model,
    with ``model`` the model the challenge started from (edits outside ``edit:`` fail)."""
    if isinstance(model, Trace):
        model = model.model
    if question.type == "make-it-happen":
        if not isinstance(response, Model):
            raise LessonError("a make-it-happen answer is the edited model")
        allowed = {n.strip() for n in question.get("edit").split(",") if n.strip()}
        touched = [name for name in model.params if name in response.params
                   and not np.array_equal(model.params[name], response.params[name])]
        outside = [name for name in touched if allowed and name not in allowed]
        truth = answer(question, response)
        if outside:
            return Grade(False, truth, f"this challenge allows edits to {', '.join(sorted(allowed))} only; "
                                       f"you also changed {', '.join(outside)}")
        passed = all(ok for _, ok, _ in truth.value)
        head = "goal reached on every unseen phrase" if passed else "not yet"
        return Grade(passed, truth, _feedback(question, f"{head}: {truth.text}"))
    truth = answer(question, model)
    if question.type == "pick-cell":
        m = _matrix(*_apply_changes(question.get("after"), question.view, model))
        parts = _words(response) if isinstance(response, str) else list(response) if isinstance(response, (tuple, list)) else []
        if len(parts) != 2:
            raise LessonError("pick a cell as a row and a column")
        cell = (_index(str(parts[0]), m.rows, "row", m.name), _index(str(parts[1]), m.columns, "column", m.name))
        ok = cell in truth.value
        return Grade(ok, truth, _feedback(question, f"you picked {_cell_text(m, *cell)}; the engine says {truth.text}"))
    if question.type == "choice":
        options = [o.strip() for o in question.get("options").split("|") if o.strip()]
        chosen = options[response] if isinstance(response, int) and 0 <= response < len(options) else str(response).strip()
        ok = chosen in truth.value
        return Grade(ok, truth, _feedback(question, f"you chose {chosen!r}; the engine says {truth.text}"))
    if question.type == "number":
        guess = _number(str(response))
        if guess is None:
            raise LessonError(f"{response!r} is not a number")
        tolerance = _tolerance(question.get("tolerance"), truth.value)
        gap = guess - truth.value
        ok = abs(gap) <= tolerance
        return Grade(ok, truth, _feedback(
            question, f"you said {guess:.4g}; the engine computed {truth.text}: off by {gap:+.3g} (allowed ±{tolerance:.3g})"))
    said = _SYNONYMS.get(str(response).strip().lower(), str(response).strip().lower())
    signs: Collection[str] = _UP if question.get("after") else _POSITIVE
    if said not in signs:
        raise LessonError(f"answer one of {', '.join(signs)}, got {response!r}")
    ok = said == truth.value
    return Grade(ok, truth, _feedback(question, f"you said {said}; the engine says {truth.text}"))


def _feedback(question: Question, text: str) -> str:
    explain = question.get("explain")
    return f"{text}. {explain}" if explain else text


# -- checking -------------------------------------------------------------------------------------
def check(lesson: Lesson) -> list[Problem]:
    """Every problem of a lesson, in line order: its form, and whether the engine can do every
    step and compute every question for the lesson's model."""
    problems = list(lesson.problems)
    models: dict[str, Model] = {}
    for step in lesson.steps:
        view = step.view
        if not view.source or not view.sentence:
            continue
        if view.source not in models:
            try:
                models[view.source] = model_for(view, lesson.base_dir)
            except SimulatorError as exc:
                problems.append(Problem(view.source_line, str(exc)))
                models[view.source] = None  # type: ignore[assignment]
        model = models[view.source]
        if model is None:
            continue
        problems += _check_step(step, model)
    seen: set[tuple[int, str]] = set()
    unique = []
    for problem in problems:
        if (problem.line, problem.message) not in seen:
            seen.add((problem.line, problem.message))
            unique.append(problem)
    return sorted(unique, key=lambda p: p.line)


def _check_step(step: Step, model: Model) -> list[Problem]:
    view = step.view
    try:
        trace_for(view, model)
    except SimulatorError as exc:
        return [Problem(view.sentence_line or step.line, str(exc))]
    problems: list[Problem] = []
    if view.head >= model.config.n_heads:
        problems.append(Problem(view.head_line or step.line, f"head {view.head} is outside the model (heads 0..{model.config.n_heads - 1})"))
        return problems
    if view.layer is not None and view.layer >= model.config.n_layers:
        problems.append(Problem(step.settings.get("layer", Field("", view.stage_line or step.line)).line,
                                f"layer {view.layer} is outside the model (layers 0..{model.config.n_layers - 1})"))
        return problems
    matrix = None
    if view.stage:
        try:
            matrix = _matrix(view, model)
        except SimulatorError as exc:
            problems.append(Problem(view.stage_line or step.line, str(exc)))
    for mark in step.highlights:
        if matrix is None:
            problems.append(Problem(mark.line, "a highlight needs a stage"))
            break
        try:
            if mark.kind in ("row", "cell"):
                _index(mark.labels[0], matrix.rows, "row", matrix.name)
            if mark.kind in ("column", "cell"):
                _index(mark.labels[-1], matrix.columns, "column", matrix.name)
        except LessonError as exc:
            problems.append(Problem(mark.line, str(exc)))
    if step.question is not None:
        problems += _check_question(step.question, model)
        if step.question.type == "make-it-happen" and "weights" in {*step.lock, *step.hide}:
            found = step.settings.get("lock") or step.settings.get("hide")
            problems.append(Problem(found.line if found else step.line,
                                    "a make-it-happen step must leave the weights editable (no lock or hide of weights)"))
    return problems


def _check_question(q: Question, model: Model) -> list[Problem]:
    line = q.line_of("goal" if q.type == "make-it-happen" else "compute")
    if q.view.stage != "" and q.view.stage_line:
        try:
            stage_id(q.view, model)
        except LessonError as exc:
            return [Problem(q.view.stage_line, str(exc))]
    if "tolerance" in q.fields:
        try:
            _tolerance(q.get("tolerance"), 1.0)
        except LessonError as exc:
            return [Problem(q.line_of("tolerance"), str(exc))]
    if q.get("after"):
        try:
            _apply_changes(q.get("after"), q.view, model)
        except SimulatorError as exc:
            return [Problem(q.line_of("after"), str(exc))]
    try:
        truth = answer(q, model)
    except LessonError as exc:
        return [Problem(line, str(exc))]
    if q.type == "choice":
        options = [o.strip() for o in q.get("options").split("|") if o.strip()]
        if len(options) < 2:
            return [Problem(q.line_of("options"), "a choice question needs at least two options, separated by '|'")]
        if not truth.value:
            return [Problem(q.line_of("options"), f"the engine's answer ({truth.text}) is not among the options")]
    if q.type == "make-it-happen":
        if all(ok for _, ok, _ in truth.value):
            return [Problem(q.line_of("goal"), f"the goal already holds before any edit ({truth.text})")]
        for name in (n.strip() for n in q.get("edit").split(",") if n.strip()):
            if name not in model.params:
                return [Problem(q.line_of("edit"), f"no parameter named {name!r}{_close(name, list(model.params))}")]
    return []


def summary_line(lesson: Lesson) -> str:
    """``ID  Title — concepts``: how ``python -m simulator lessons`` lists a lesson."""
    return f"{lesson.id}  {lesson.title} — {', '.join(lesson.concepts)}"
