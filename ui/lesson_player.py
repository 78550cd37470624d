"""The lesson dock: plays a lesson (``simulator.lessons``) step by step in the main window.

Each step sets up the view (model, sentence, stage, layer, head, toggles, zoom), outlines cells,
locks or hides controls, and may ask one question. The student answers in the dock (or, for
"pick a cell", by clicking a cell of the stage's result); the engine's answer, computed now from
the model on screen, is revealed next to the student's with the lesson's explanation. Answers
are kept per student in :class:`ui.lesson_answers.AnswerBook`; the step reached is kept in the
settings per lesson id, so a lesson resumes where it was left.

Next and Back are buttons with their own shortcuts (Alt+Right, Alt+Left: the arrows, Space and
Page Up/Down step through the forward pass), and Ctrl+Return answers.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from simulator import lessons as L
from simulator.errors import SimulatorError
from simulator.model import Model
from ui.commands import SetModelCommand, SetOptionCommand, SetTextCommand, SetViewCommand
from ui.lesson_answers import AnswerBook, answers_path
from ui.presentation import PRESENTATION_TEXT_SCALE
from ui.state import LAYOUT_COLUMNS, LAYOUT_ROWS

#: shortcuts of the lesson's own actions (none is a stepping key: see ui/actions.py)
NEXT_KEYS = ("Alt+Right",)
BACK_KEYS = ("Alt+Left",)
ANSWER_KEYS = ("Ctrl+Return", "Ctrl+Enter")
LOCK_TIP = "Locked by the lesson for this step"
HIDE_TIP = "Hidden by the lesson for this step"
#: the step toggles and the view option each one sets
_VIEW_SWITCHES = {"columns": "layout", "numbers": "show_numbers", "contrast": "high_contrast"}


def question_key(question: L.Question) -> str:
    """A question's identity within its lesson (its line: prompts may repeat)."""
    return f"line {question.line}"


def progress_key(lesson_id: str) -> str:
    return f"lessons/progress/{lesson_id}"


def _copy(model: Model) -> Model:
    """An independent copy with the same weights (the engine never edits arrays in place)."""
    return Model(model.config, dict(model.params), model.tokenizer, model.labels, model.info)


class LessonPlayer(QWidget):
    """The dock's contents and the logic of playing a lesson in one main window.

    ``answered`` carries each :class:`~simulator.lessons.Grade` (tests and the summary follow it)."""

    answered = Signal(object)
    step_changed = Signal(int)

    def __init__(self, window: Any, data_dir: Path) -> None:
        super().__init__()
        self.setObjectName("lessonPlayer")
        self._window = window
        self._state = window.state
        self._settings: QSettings = window.settings
        self.data_dir = Path(data_dir)
        self._book: AnswerBook | None = None
        self.lesson: L.Lesson | None = None
        self.index = 0
        self.student: str | None = None
        self.problems: list[L.Problem] = []
        self.last_grade: L.Grade | None = None
        self.picked: tuple[int, int] | None = None
        #: after a pick-cell reveal: the engine's cells, outlined next to the student's
        self.truth_cells: frozenset[tuple[int, int]] = frozenset()
        self._font = QFont(self.font())
        self._source = ""
        #: the model object the lesson loaded (edits change its weights, not its identity)
        self._model: Model | None = None
        self._start_model: Model | None = None
        self._locked: list[Any] = []
        self._hidden: list[Any] = []
        #: tooltips and status tips of locked controls, put back when unlocked
        self._tips: dict[Any, tuple[str, str]] = {}
        self.dock: QWidget | None = None
        #: canvas panels whose mouse and keys the weight lock watches
        self._guarded: set[Any] = set()
        self._choice_buttons: list[QRadioButton] = []
        self._build()
        self._connect()
        self._show_nothing()

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.title_label = QLabel()
        self.title_label.setObjectName("lessonTitle")
        self.title_label.setWordWrap(True)
        self.title_label.setTextFormat(Qt.TextFormat.RichText)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("lessonProgress")
        self.progress_label.setWordWrap(True)
        self.text_label = QLabel()
        self.text_label.setObjectName("lessonText")
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.TextFormat.MarkdownText)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.lock_label = QLabel()
        self.lock_label.setObjectName("lessonLocks")
        self.lock_label.setWordWrap(True)
        self.prompt_label = QLabel()
        self.prompt_label.setObjectName("lessonPrompt")
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setTextFormat(Qt.TextFormat.RichText)
        self.hint_label = QLabel()
        self.hint_label.setObjectName("lessonHint")
        self.hint_label.setWordWrap(True)
        self.choices = QWidget()
        self.choices.setObjectName("lessonChoices")
        self._choices_box = QVBoxLayout(self.choices)
        self._choices_box.setContentsMargins(0, 0, 0, 0)
        self._choice_group = QButtonGroup(self)
        self.number_edit = QLineEdit()
        self.number_edit.setObjectName("lessonNumber")
        self.number_edit.setPlaceholderText("your estimate, e.g. 0.25")
        self.number_edit.returnPressed.connect(self.submit)
        self.answer_button = QPushButton("&Answer")
        self.answer_button.setObjectName("lessonAnswer")
        self.reveal_label = QLabel()
        self.reveal_label.setObjectName("lessonReveal")
        self.reveal_label.setWordWrap(True)
        self.reveal_label.setTextFormat(Qt.TextFormat.RichText)
        self.problems_label = QLabel()
        self.problems_label.setObjectName("lessonProblems")
        self.problems_label.setWordWrap(True)
        self.problems_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.back_button = QPushButton("◀ Back")
        self.back_button.setObjectName("lessonBack")
        self.next_button = QPushButton("Next ▶")
        self.next_button.setObjectName("lessonNext")
        self.summary_button = QPushButton("Class summary…")
        self.summary_button.setObjectName("lessonSummary")
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        for widget in (self.title_label, self.progress_label, self.problems_label, self.text_label, self.lock_label,
                       self.prompt_label, self.hint_label, self.choices, self.number_edit, self.answer_button,
                       self.reveal_label):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(self.summary_button)

        self.next_action = self._action("lesson_next", "Next lesson step", NEXT_KEYS, self.next_step)
        self.back_action = self._action("lesson_back", "Previous lesson step", BACK_KEYS, self.previous_step)
        self.answer_action = self._action("lesson_answer", "Answer the lesson's question", ANSWER_KEYS, self.submit)
        for button, action in ((self.next_button, self.next_action), (self.back_button, self.back_action),
                               (self.answer_button, self.answer_action)):
            button.setToolTip(action.toolTip())
        self.next_button.clicked.connect(self.next_step)
        self.back_button.clicked.connect(self.previous_step)
        self.answer_button.clicked.connect(self.submit)
        self.summary_button.clicked.connect(self.show_summary)

    def _action(self, name: str, text: str, keys: tuple[str, ...], slot: Any) -> QAction:
        action = QAction(text, self._window)
        action.setObjectName(f"action_{name}")
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setToolTip(f"{text} ({', '.join(keys)})")
        action.setStatusTip(text)
        action.triggered.connect(slot)
        self._window.addAction(action)
        self._window.actions.add(name, action)
        return action

    def _connect(self) -> None:
        s = self._state
        # (connected after the canvas and the window: highlights and locks go back on after
        # they redraw or re-enable their controls)
        for signal in (s.trace_changed, s.stage_changed, s.head_changed, s.view_changed, s.model_changed, s.hover_changed):
            signal.connect(self._reapply)
        self._window.sessions.path_changed.connect(self._reapply)
        self._window.canvas.weight_cell_clicked.connect(self._cell_clicked)
        self._window.presentation.changed.connect(self._follow_presentation)

    def _follow_presentation(self) -> None:
        """In presentation mode the dock's text is enlarged like the explanation's."""
        font = QFont(self._font)
        if self._window.presentation.active:
            font.setPointSizeF(self._font.pointSizeF() * PRESENTATION_TEXT_SCALE)
        if font != self.font():
            self.setFont(font)

    # -- the lesson ------------------------------------------------------------------------------
    @property
    def book(self) -> AnswerBook:
        if self._book is None:
            self._book = AnswerBook(answers_path(self.data_dir))
        return self._book

    @property
    def step(self) -> L.Step | None:
        return self.lesson.steps[self.index] if self.lesson is not None and self.lesson.steps else None

    def install_menu(self, menubar: Any, dock: QWidget) -> None:
        """The Lesson menu (open, Next, Back, Answer, summary) and the dock the player lives in."""
        self.dock = dock
        menu = menubar.addMenu("&Lesson")
        menu.setObjectName("menu_lesson")
        self.open_action = menu.addAction("&Open lesson…")
        self.open_action.setObjectName("action_lesson_open")
        self.open_action.triggered.connect(self.choose_lesson)
        menu.addSeparator()
        for action in (self.next_action, self.back_action, self.answer_action):
            menu.addAction(action)
        menu.addSeparator()
        summary = menu.addAction("Class &summary…")
        summary.triggered.connect(self.show_summary)
        menu.addAction(dock.toggleViewAction())

    def choose_lesson(self) -> bool:
        """Lesson → Open lesson…: pick a built-in lesson, or a lesson file."""
        from PySide6.QtWidgets import QFileDialog

        lessons = L.builtin_lessons()
        items = [f"{lesson.title} ({lesson.id})" for lesson in lessons] + ["A lesson file…"]
        chosen, ok = QInputDialog.getItem(self._window, "Open lesson", "Lesson:", items, 0, False)
        if not ok:
            return False
        if chosen == items[-1]:
            path, _ = QFileDialog.getOpenFileName(self._window, "Open lesson file", "", "Lessons (*.md);;All files (*)")
            return bool(path) and self.open_lesson(path)
        return self.open_lesson(lessons[items.index(chosen)].id)

    def open_lesson(self, id_or_path: str, step: int | None = None, announce: bool = True) -> bool:
        """Load a lesson (built-in id or file) and start it at ``step`` (from 1; None: where the
        student left it). A lesson that fails its checks is not started: the dock lists its
        problems with their lines, and (if ``announce``) a message says so. False then."""
        try:
            lesson = L.load_lesson(id_or_path)
        except L.LessonError as exc:
            self._show_dock()
            return self._refuse(id_or_path, [L.Problem(0, str(exc))], announce)
        return self.play(lesson, step, announce)

    def play(self, lesson: L.Lesson, step: int | None = None, announce: bool = True) -> bool:
        """Check a parsed lesson and start it (see :meth:`open_lesson`)."""
        self._show_dock()
        problems = L.check(lesson)
        if problems:
            return self._refuse(lesson.path.name if lesson.path else lesson.id, problems, announce)
        return self.start(lesson, step)

    def _show_dock(self) -> None:
        if self.dock is not None:
            self.dock.show()
            self.dock.raise_()

    def start(self, lesson: L.Lesson, step: int | None = None) -> bool:
        """Play a checked lesson from ``step`` (from 1), else from the step kept in the settings."""
        self.lesson = lesson
        self.problems = []
        self.student = None
        self._source = ""
        if step is None:
            step = self.saved_step(lesson.id) + 1
        self.problems_label.hide()
        self.go_to(max(0, min(step - 1, len(lesson.steps) - 1)))
        return True

    def saved_step(self, lesson_id: str) -> int:
        """The step (from 0) the lesson was left at, kept in the settings (0 if none or unreadable)."""
        try:
            return max(0, int(self._settings.value(progress_key(lesson_id), 0)))
        except (TypeError, ValueError):
            return 0

    def _refuse(self, name: str, problems: list[L.Problem], announce: bool = True) -> bool:
        self.lesson = None
        self.problems = list(problems)
        self._unlock()
        self._show_nothing()
        lines = "".join(f"<li>{html.escape(str(p))}</li>" for p in problems)
        self.title_label.setText(f"<h3>The lesson {html.escape(name)} cannot be played</h3>")
        self.problems_label.setText(f"<span style='color:#b00020'>It has {len(problems)} problem"
                                    f"{'s' if len(problems) != 1 else ''}:</span><ul>{lines}</ul>")
        self.problems_label.show()
        self._state.message.emit(f"The lesson {name} has problems: " + "; ".join(str(p) for p in problems))
        if announce:
            self.show_problems_message(name, problems)
        return False

    def show_problems_message(self, name: str, problems: list[L.Problem]) -> QMessageBox:
        """A message (not blocking) listing a broken lesson's problems."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Lesson has problems",
                          f"The lesson {name} cannot be played:\n\n" + "\n".join(str(p) for p in problems),
                          QMessageBox.StandardButton.Ok, self._window)
        box.setObjectName("lessonProblemsBox")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        QTimer.singleShot(0, box.open)  # (at start-up: once the window is on screen, over it)
        return box

    def next_step(self) -> None:
        if self.lesson is not None and self.index + 1 < len(self.lesson.steps):
            self.go_to(self.index + 1)

    def previous_step(self) -> None:
        if self.lesson is not None and self.index > 0:
            self.go_to(self.index - 1)

    def go_to(self, index: int) -> None:
        """Show step ``index`` (from 0): set up the view, then the text and question."""
        assert self.lesson is not None
        self.index = index
        step = self.lesson.steps[index]
        self.last_grade = None
        self.picked = None
        self.truth_cells = frozenset()
        try:
            self._apply_view(step)
        except SimulatorError as exc:
            self._state.message.emit(f"This step cannot be shown: {exc}")
        self._start_model = _copy(self._state.model)
        self._settings.setValue(progress_key(self.lesson.id), index)
        self._show_step(step)
        self._apply_locks(step)
        self._apply_highlights()
        self.step_changed.emit(index)

    def _apply_view(self, step: L.Step) -> None:
        s, push = self._state, self._state.undo_stack.push
        view = step.view
        assert self.lesson is not None
        # the lesson's model again if the step names another one, or the student switched away
        if view.source and (view.source != self._source or s.model is not self._model):
            model = L.model_for(view, self.lesson.base_dir)
            push(SetModelCommand(s, model, f"lesson {self.lesson.id}: model", text=view.sentence))
            self._source, self._model = view.source, model
        if view.sentence and s.text != view.sentence:
            push(SetTextCommand(s, view.sentence, merge=False))
        config = s.model.config
        wanted = {
            "causal": view.causal if view.causal is not None else config.causal,
            "scale_scores": view.scale if view.scale is not None else config.scale_scores,
            "temperature": view.temperature,
        }
        for name, value in wanted.items():
            if s.option(name) != value:
                push(SetOptionCommand(s, name, value))
        for switch, option in _VIEW_SWITCHES.items():
            on = step.switch(switch)
            if on is not None:
                value = (LAYOUT_COLUMNS if on else LAYOUT_ROWS) if option == "layout" else on
                if getattr(s.view, option) != value:
                    push(SetViewCommand(s, option, value))
        if step.zoom is not None:
            self._window.presentation.set_zoom(step.zoom)
        shown = step.question.view if step.question is not None else view
        if shown.stage:
            s.set_stage(L.stage_id(shown, s.model))
        if 0 <= shown.head < s.model.config.n_heads:
            s.set_head(shown.head)

    # -- the dock's text and question ---------------------------------------------------------------
    def _show_nothing(self) -> None:
        self.title_label.setText("<h3>No lesson open</h3>")
        self.progress_label.setText("Open one with Lesson → Open lesson…")
        for widget in (self.text_label, self.lock_label, self.prompt_label, self.hint_label, self.choices,
                       self.number_edit, self.answer_button, self.reveal_label):
            widget.hide()
        for widget in (self.next_button, self.back_button, self.summary_button):
            widget.setEnabled(False)
        for action in (self.next_action, self.back_action, self.answer_action):
            action.setEnabled(False)

    def _show_step(self, step: L.Step) -> None:
        lesson = self.lesson
        assert lesson is not None
        self.title_label.setText(f"<h3>{html.escape(lesson.title)}</h3>")
        self.progress_label.setText(f"Step {self.index + 1} of {len(lesson.steps)}: {step.title}")
        text = step.text if self.index else "\n\n".join(t for t in (lesson.intro, step.text) if t)
        self.text_label.setText(text)
        self.text_label.setVisible(bool(text))
        q = step.question
        self.prompt_label.setVisible(q is not None)
        self.prompt_label.setText(f"<b>{html.escape(q.prompt)}</b>" if q is not None else "")
        self.reveal_label.clear()
        self.reveal_label.hide()
        self._set_inputs(q)
        self.back_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index + 1 < len(lesson.steps))
        self.back_action.setEnabled(self.index > 0)
        self.next_action.setEnabled(self.index + 1 < len(lesson.steps))
        self.summary_button.setEnabled(bool(lesson.questions()))

    def _set_inputs(self, q: L.Question | None) -> None:
        for button in self._choice_buttons:
            self._choice_group.removeButton(button)
            button.deleteLater()
        self._choice_buttons = []
        self.number_edit.clear()
        kind = q.type if q is not None else ""
        options: list[str] = []
        if kind == "choice":
            options = [o.strip() for o in q.get("options").split("|") if o.strip()]
        elif kind == "sign":
            options = ["up", "down", "same"] if q.get("after") else ["positive", "negative", "zero"]
        for i, text in enumerate(options):
            button = QRadioButton(f"&{i + 1}  {text}")
            button.setObjectName(f"lessonOption{i}")
            button.setProperty("answer", text)
            self._choice_group.addButton(button, i)
            self._choices_box.addWidget(button)
            self._choice_buttons.append(button)
        self.choices.setVisible(bool(options))
        self.number_edit.setVisible(kind == "number")
        hints = {
            "pick-cell": "Click the cell in the result matrix on the canvas (or Tab to it, move with the arrows, press Enter).",
            "make-it-happen": "Edit the weights on the canvas or in the parameters browser, then press Check. "
                              "Your circuit is tested on phrases you have not seen.",
        }
        self.hint_label.setText(hints.get(kind, ""))
        self.hint_label.setVisible(kind in hints)
        self.answer_button.setText("&Check" if kind == "make-it-happen" else "&Answer")
        self.answer_button.setVisible(q is not None)
        self.answer_button.setEnabled(q is not None)
        self.answer_action.setEnabled(q is not None)

    # -- answering --------------------------------------------------------------------------------------
    def response(self) -> Any:
        """What the student has given so far for the step's question (None: nothing yet)."""
        q = self.step.question if self.step is not None else None
        if q is None:
            return None
        if q.type == "pick-cell":
            return None if self.picked is None else (str(self.picked[0]), str(self.picked[1]))
        if q.type in ("choice", "sign"):
            chosen = self._choice_group.checkedButton()
            return None if chosen is None else chosen.property("answer")
        if q.type == "number":
            return self.number_edit.text().strip() or None
        return self._state.model

    def choose(self, option: str) -> None:
        """Select an option of a choice or sign question (what a click on it does)."""
        for button in self._choice_buttons:
            if button.property("answer") == option:
                button.setChecked(True)
                return
        raise SimulatorError(f"no option {option!r}")

    def submit(self) -> L.Grade | None:
        """Grade the student's answer with the engine now, reveal it, and keep it in the answers file."""
        step = self.step
        if step is None or step.question is None:
            return None
        q = step.question
        response = self.response()
        if response is None:
            self._say("Answer first: " + {"pick-cell": "click a cell of the result.", "number": "type a number.",
                                          }.get(q.type, "choose one of the options."))
            return None
        try:
            if q.type == "make-it-happen":
                assert self._start_model is not None
                grade = L.grade(q, _copy(self._state.model), self._start_model)
            else:
                grade = L.grade(q, response, self._state.model)
        except SimulatorError as exc:
            self._say(str(exc))
            return None
        self.last_grade = grade
        self._reveal(q, response, grade)
        self._record(q, response, grade)
        self.answered.emit(grade)
        return grade

    def _say(self, text: str) -> None:
        self.reveal_label.setText(f"<span style='color:#b00020'>{html.escape(text)}</span>")
        self.reveal_label.show()
        self._state.message.emit(text)

    def _response_text(self, q: L.Question, response: Any) -> str:
        if q.type == "make-it-happen":
            return "edited model"
        if q.type == "pick-cell" and self.picked is not None:
            return self._picked_text()
        return str(response)

    def _reveal(self, q: L.Question, response: Any, grade: L.Grade) -> None:
        verdict = "✔ Right" if grade.correct else "✘ Not quite"
        colour = "#1b5e20" if grade.correct else "#b00020"
        explain = q.get("explain")
        self.reveal_label.setText(
            f"<p style='color:{colour}'><b>{verdict}</b></p>"
            f"<table><tr><td>Your answer:&nbsp;</td><td>{html.escape(self._response_text(q, response))}</td></tr>"
            f"<tr><td>The engine:&nbsp;</td><td>{html.escape(grade.truth.text)}</td></tr></table>"
            + (f"<p>{html.escape(explain)}</p>" if explain else "")
        )
        self.reveal_label.show()
        self._state.message.emit(f"{verdict}: the engine says {grade.truth.text}")
        if q.type == "pick-cell":
            self.truth_cells = frozenset(grade.truth.value)
            self._apply_highlights()

    def _record(self, q: L.Question, response: Any, grade: L.Grade) -> None:
        assert self.lesson is not None
        if self.student is None:
            self.student = self.ask_name()
        book = self.book
        if book.problem:
            self._state.message.emit(book.problem)
            book.problem = ""
        try:
            self.book.record(self.student, self.lesson.id, self.index + 1, question_key(q), q.prompt, q.type,
                             self._response_text(q, response), grade.correct, grade.truth.text)
        except SimulatorError as exc:
            self._state.message.emit(f"The answer could not be saved: {exc}")

    def ask_name(self) -> str:
        """The student's name, asked once per lesson run ("" if none is given)."""
        assert self.lesson is not None
        name, ok = QInputDialog.getText(self._window, "Your name", f"Your name, for the answers of “{self.lesson.title}”:")
        return name.strip() if ok else ""

    # -- picking a cell ---------------------------------------------------------------------------------
    def _cell_clicked(self, panel: Any, row: int, col: int) -> None:
        step = self.step
        if step is None or step.question is None or step.question.type != "pick-cell":
            return
        if not self._window.canvas.panels or panel is not self._window.canvas.result_panel or panel.matrix is None:
            self._say("Pick a cell of the result matrix (the one on the right of the '=').")
            return
        index = panel.matrix.source_index(row, col)
        self.pick(*((0, index[-1]) if len(index) == 1 + len(panel.matrix.prefix) else index[-2:]))

    def pick(self, row: int, col: int) -> None:
        """Choose the cell (row, column) of the question's matrix, as the engine indexes it."""
        self.picked = (int(row), int(col))
        text = f"You picked {self._picked_text()}: press Answer (Ctrl+Return) to check."
        self.hint_label.setText(text)
        self._state.message.emit(text)
        self._apply_highlights()

    def _labels(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Row and column labels of the current stage for the current head (as the lesson names them)."""
        stage = self._state.trace.stage(self._state.stage_id)
        labels = stage.axis_labels[1:] if stage.spec.has_heads else stage.axis_labels
        return (("",), tuple(labels[0])) if len(labels) == 1 else (tuple(labels[0]), tuple(labels[1]))

    def _picked_text(self) -> str:
        assert self.picked is not None
        rows, cols = self._labels()
        r, c = self.picked
        row = rows[r] if r < len(rows) else str(r)
        col = cols[c] if c < len(cols) else str(c)
        return col if rows == ("",) else f"({row}, {col})"

    # -- highlights and locks ------------------------------------------------------------------------------
    def _reapply(self, *_: object) -> None:
        if self.step is None:
            return
        self._relock()
        self._apply_highlights()
        self._guard_weight_panels()

    def _guard_weight_panels(self) -> None:
        """Watch the mouse and keys on every canvas panel (panels are made as stages need them):
        while a step locks the weights, clicks, drags and Enter on a weight cell are refused."""
        for panel in self._window.canvas.panels:
            if panel not in self._guarded:
                self._guarded.add(panel)
                panel.viewport().installEventFilter(self)
                panel.installEventFilter(self)

    def eventFilter(self, obj: Any, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kinds = (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseButtonRelease,
                 QEvent.Type.KeyPress)
        if event.type() not in kinds or not self.locked("weights"):
            return False
        if event.type() == QEvent.Type.KeyPress and event.key() not in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return False
        panel = obj.parent() if obj not in self._guarded else obj
        matrix = getattr(panel, "matrix", None)
        if matrix is None or not matrix.editable:
            return False
        if event.type() != QEvent.Type.MouseButtonRelease:
            self._state.message.emit("This step of the lesson locks the weights: they cannot be edited here.")
        return True

    def _apply_highlights(self) -> None:
        """Outline the step's rows, columns and cells (and the picked cell) on the result panel."""
        step = self.step
        canvas = self._window.canvas
        if step is None or not canvas.panels:
            return
        panel = canvas.result_panel
        matrix = panel.matrix
        if matrix is None:
            return
        try:
            rows, cols = self._labels()
        except (SimulatorError, KeyError, IndexError):
            return
        cells: list[tuple[str, int, int]] = []
        marks = [(m.kind, m.labels) for m in step.highlights]
        for cell in sorted({*self.truth_cells, *([self.picked] if self.picked is not None else [])}):
            marks.append(("cell", tuple(map(str, cell))))
        for kind, labels in marks:
            try:
                r = _find(labels[0], rows) if kind in ("row", "cell") else None
                c = _find(labels[-1], cols) if kind in ("column", "cell") else None
            except ValueError:
                continue
            cells.append(_displayed(matrix, kind, r, c))
        panel.set_highlights([cell for cell in cells if cell is not None])

    def _controls(self) -> dict[str, list[Any]]:
        """The widgets and actions behind each control a lesson can lock or hide."""
        w, a = self._window, self._window.actions
        return {
            "model": [a["choose_preset"], a["load_model"], a["open_model"], a["new"], a["open"],
                      *w.preset_actions.values()],
            "sentence": [w.sentence_box],
            "stage": [a["next"], a["back"], a["first"], a["last"], a["play"], w.navigator],
            "layer": [w.layer_box, a["next_layer"], a["prev_layer"]],
            "head": [w.head_box, a["next_head"], a["prev_head"]],
            "causal": [a["causal"]], "scale": [a["scale"]], "columns": [a["columns"]],
            "numbers": [a["numbers"]], "contrast": [a["contrast"]],
            "temperature": [w.next_token.temperature_slider],
            "zoom": [a["zoom_in"], a["zoom_out"], a["zoom_reset"]],
            "weights": [a["params"], a["table"], w.params_dock, w.table_dock],
        }

    def _apply_locks(self, step: L.Step) -> None:
        self._unlock()
        controls = self._controls()
        self._locked = [thing for name in step.lock for thing in controls.get(name, [])]
        self._hidden = [thing for name in step.hide for thing in controls.get(name, [])]
        self._relock()
        self._guard_weight_panels()
        parts = []
        if step.lock:
            parts.append("locks " + ", ".join(step.lock))
        if step.hide:
            parts.append("hides " + ", ".join(step.hide))
        text = f"🔒 This step of the lesson {' and '.join(parts)}." if parts else ""
        self.lock_label.setText(text)
        self.lock_label.setVisible(bool(text))
        if text:
            self._state.message.emit(text[2:])

    def _relock(self) -> None:
        for thing in self._locked:
            if thing not in self._tips:
                self._tips[thing] = (thing.toolTip(), thing.statusTip())
            if thing.isEnabled():
                thing.setEnabled(False)
            thing.setToolTip(LOCK_TIP)
            thing.setStatusTip(LOCK_TIP)
        for thing in self._hidden:
            if thing.isVisible():
                thing.setVisible(False)

    def _unlock(self) -> None:
        for thing in self._locked:
            thing.setEnabled(True)
            tip, status = self._tips.pop(thing, ("", ""))
            thing.setToolTip(tip)
            thing.setStatusTip(status)
        for thing in self._hidden:
            if not isinstance(thing, QWidget) or thing in (self._window.sentence_box, self._window.navigator):
                thing.setVisible(True)
        self._locked, self._hidden = [], []
        self._window._sync_from_state()  # (the stepping actions' own enabled state comes back)

    def locked(self, name: str) -> bool:
        """Whether the current step locks (or hides) a control."""
        step = self.step
        return step is not None and (name in step.lock or name in step.hide)

    # -- the class summary -----------------------------------------------------------------------------------
    def show_summary(self) -> QDialog | None:
        """A window (not modal) with how the class answered each question, and hand counts."""
        if self.lesson is None:
            return None
        dialog = LessonSummary(self.book, self.lesson, self._window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog


def _find(label: str, labels: tuple[str, ...]) -> int:
    if label.isdigit():
        if int(label) < len(labels):
            return int(label)
        raise ValueError(label)
    found = [i for i, name in enumerate(labels) if name == label]
    if len(found) != 1:
        raise ValueError(label)
    return found[0]


def _displayed(matrix: Any, kind: str, r: int | None, c: int | None) -> tuple[str, int, int] | None:
    """The heatmap highlight of engine row ``r`` / column ``c`` in a displayed (maybe transposed,
    maybe subsampled) matrix, or None when it is not on screen."""
    vector = matrix.data.ndim == 1 or matrix.extra.get("vector")
    if vector:
        r = None if kind == "row" else 0
        kind = "cell" if c is not None else "all"
    if matrix.transposed:
        r, c = c, r
    rows = matrix.row_index if matrix.row_index is not None else None
    cols = matrix.col_index if matrix.col_index is not None else None
    try:
        dr = (rows.index(r) if rows is not None else r) if r is not None else 0
        dc = (cols.index(c) if cols is not None else c) if c is not None else 0
    except ValueError:
        return None
    if vector:
        dr = 0
    if r is not None and c is not None:
        return ("cell", dr, dc)
    return ("row", dr, 0) if r is not None else ("col", 0, dc)


class LessonSummary(QDialog):
    """How a class answered each question of a lesson: answers recorded in the app, and a count
    of raised hands the teacher types in (kept in the same answers file)."""

    def __init__(self, book: AnswerBook, lesson: L.Lesson, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lessonSummaryDialog")
        self.setWindowTitle(f"Class summary: {lesson.title}")
        self._book = book
        self._lesson = lesson
        grid = QGridLayout()
        for col, text in enumerate(("Question", "Right", "Wrong", "Answers given", "Hands right", "Hands wrong")):
            header = QLabel(f"<b>{text}</b>")
            grid.addWidget(header, 0, col)
        questions = [(question_key(q), q.prompt) for q in lesson.questions()]
        self.rows: dict[str, tuple[QLabel, QLabel, QSpinBox, QSpinBox]] = {}
        self.given: dict[str, QLabel] = {}
        for i, found in enumerate(book.summary(lesson.id, questions), start=1):
            prompt = QLabel(found.prompt)
            prompt.setWordWrap(True)
            prompt.setToolTip("; ".join(f"{name or '(no name)'}: {resp} ({'right' if ok else 'wrong'})"
                                        for name, resp, ok in found.students))
            right, wrong = QLabel(str(found.right)), QLabel(str(found.wrong))
            given = QLabel(", ".join(f"{response} ×{n}" for response, n in found.tally()) or "none yet")
            given.setWordWrap(True)
            given.setObjectName("lessonSummaryAnswers")
            hands = []
            for value in (found.hands_right, found.hands_wrong):
                box = QSpinBox()
                box.setRange(0, 999)
                box.setValue(value)
                box.setAccessibleName(f"Show of hands for: {found.prompt}")
                box.valueChanged.connect(lambda _v, key=found.key: self._hands_changed(key))
                hands.append(box)
            for col, widget in enumerate((prompt, right, wrong, given, *hands)):
                grid.addWidget(widget, i, col)
            self.rows[found.key] = (right, wrong, hands[0], hands[1])
            self.given[found.key] = given
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Answers are kept in {book.path}"))
        layout.addLayout(grid)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout.addWidget(close)

    def _hands_changed(self, key: str) -> None:
        _, _, right, wrong = self.rows[key]
        try:
            self._book.set_hands(self._lesson.id, key, right.value(), wrong.value())
        except SimulatorError as exc:
            self.setWindowTitle(f"Not saved: {exc}")
