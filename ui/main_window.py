"""The main window: wiring of the state, the actions, the panels and the docks. No logic lives here
beyond connecting things; each panel is its own module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QActionGroup, QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSpinBox,
    QTabBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

import simulator
from ui.accessibility import name_widgets
from ui.actions import Actions
from ui.i18n import LANGUAGES, SETTINGS_KEY, choose_language, tr
from ui.commands import SetOptionCommand, SetViewCommand
from ui.experiments_panel import ExperimentsPanel, add_panel_switch_actions
from ui.export import Exporter
from ui.lesson_player import LessonPlayer
from ui.model_loader import ModelLoader
from ui.panels.embedding_view import EmbeddingView
from ui.panels.explanation import ExplanationPanel
from ui.panels.history_view import HistoryView
from ui.panels.matrix_table import MatrixTableDialog
from ui.panels.navigator import PipelineNavigator
from ui.panels.next_token import NextTokenView
from ui.panels.params_browser import ParamsBrowser
from ui.panels.preset_picker import PresetPickerDialog
from ui.panels.sentence_box import SentenceBox
from ui.panels.sentence_compare import SentenceCompareView
from ui.panels.shortcuts_dialog import ShortcutsDialog
from ui.panels.stage_canvas import StageCanvas
from ui.panels.weight_table import WeightTable
from ui.presentation import Presentation
from ui.recovery import RecoveryManager, default_recovery_dir
from ui.session_controller import SessionController
from ui.stage_layouts import shows_heads
from ui.state import LAYOUT_COLUMNS, LAYOUT_ROWS, AppState
from ui.weight_editing import WeightEditor

APP_NAME = "Transformer Step-Through Simulator"
PLAY_SPEEDS = (("0.5 s per step", 500), ("1 s per step", 1000), ("2 s per step", 2000), ("4 s per step", 4000))
DEFAULT_SIZE = (1500, 950)
#: view toggles kept between runs, with their types
DISPLAY_SETTINGS = (("layout", str), ("show_numbers", bool), ("high_contrast", bool), ("colour_blind_safe", bool))


def _scrolling(widget: QWidget) -> QScrollArea:
    """``widget`` in a vertical scroll area: in a short dock it scrolls rather than squeezing."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


class MainWindow(QMainWindow):
    """The step-through window. ``settings`` and ``recovery_dir`` let tests use temporary stores;
    ``recovery=False`` (screenshots) neither offers nor writes recovery copies."""

    def __init__(
        self,
        state: AppState,
        settings: QSettings | None = None,
        recovery_dir: Path | None = None,
        recovery: bool = True,
    ) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.state = state
        self.settings = settings if settings is not None else QSettings()
        self.actions = Actions(self)
        self.actions.add("undo", state.undo_stack.createUndoAction(self, "&Undo"))
        self.actions.add("redo", state.undo_stack.createRedoAction(self, "&Redo"))
        self.actions["undo"].setShortcut("Ctrl+Z")
        self.actions["redo"].setShortcuts(["Ctrl+Shift+Z", "Ctrl+Y"])

        self.sentence_box = SentenceBox(state)
        self.canvas = StageCanvas(state)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.sentence_box)
        column.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.navigator = PipelineNavigator(state)
        self.explanation = ExplanationPanel(state)
        self.next_token = NextTokenView(state)
        self.embedding = EmbeddingView(state)
        self.navigator_dock = self._dock("navigatorDock", "Forward pass", self.navigator, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.explanation_dock = self._dock("explanationDock", "What happens here", self.explanation, Qt.DockWidgetArea.RightDockWidgetArea)
        self.next_token_dock = self._dock("nextTokenDock", "Next-token prediction", self.next_token, Qt.DockWidgetArea.RightDockWidgetArea)
        self.embedding_dock = self._dock("embeddingDock", "Embedding space", self.embedding, Qt.DockWidgetArea.RightDockWidgetArea)
        self.compare = SentenceCompareView(state)
        self.compare_dock = self._dock("compareDock", "Compare sentences", _scrolling(self.compare), Qt.DockWidgetArea.RightDockWidgetArea, False)
        self.tabifyDockWidget(self.next_token_dock, self.embedding_dock)
        self.tabifyDockWidget(self.embedding_dock, self.compare_dock)
        self.experiments = ExperimentsPanel(state)
        self.experiments_dock = self._dock("experimentsDock", "Experiments", self.experiments, Qt.DockWidgetArea.RightDockWidgetArea, False)
        self.tabifyDockWidget(self.compare_dock, self.experiments_dock)
        self.next_token_dock.raise_()
        self._compare_supported: bool | None = None
        #: whether the next-token view applies to the model (None until the first check)
        self._next_token_supported: bool | None = None
        self.params_browser = ParamsBrowser(state)
        self.weight_table = WeightTable(state)
        self.history = HistoryView(state.undo_stack)
        self.params_dock = self._dock("paramsDock", "Parameters", self.params_browser, Qt.DockWidgetArea.RightDockWidgetArea, False)
        self.table_dock = self._dock("weightTableDock", "Weight table", self.weight_table, Qt.DockWidgetArea.BottomDockWidgetArea, False)
        self.history_dock = self._dock("historyDock", "History", self.history, Qt.DockWidgetArea.RightDockWidgetArea, False)
        self.tabifyDockWidget(self.embedding_dock, self.params_dock)
        self.tabifyDockWidget(self.params_dock, self.history_dock)

        self.weight_editor = WeightEditor(state, self)
        self.weight_editor.follow_canvas(self.canvas)
        self.weight_editor.attach(self.params_browser.heatmap)
        self.sessions = SessionController(state, self.settings, self)
        self.model_loader = ModelLoader(state, self)
        self.exporter = Exporter(state, self.canvas, self)
        self.exporter.follow_canvas(self.canvas)
        self.exporter.install_panel_menu(self.params_browser.heatmap)
        self.exporter.menu_extras = lambda panel, menu: add_panel_switch_actions(
            state, panel.matrix.source if panel.matrix is not None else "", menu
        )
        self.recovery = (
            RecoveryManager(state, recovery_dir or default_recovery_dir(self.settings), lambda: self.sessions.path, self)
            if recovery else None
        )

        self.layer_box = QSpinBox()
        self.layer_box.setObjectName("layerBox")
        self.layer_box.setPrefix("Layer ")
        self.head_box = QSpinBox()
        self.head_box.setObjectName("headBox")
        self.head_box.setPrefix("Head ")
        self.speed_box = QComboBox()
        self.speed_box.setObjectName("speedBox")
        for text, ms in PLAY_SPEEDS:
            self.speed_box.addItem(text, ms)
        self.speed_box.setCurrentIndex(1)
        self.play_timer = QTimer(self)
        self.play_timer.setObjectName("playTimer")
        self.readout = QLabel()
        self.readout.setObjectName("readout")
        self.statusBar().addWidget(self.readout, 1)
        self.pass_progress = QProgressBar()  # a long forward pass computing in the background
        self.pass_progress.setObjectName("passProgress")
        self.pass_progress.setAccessibleName("Forward pass progress")
        self.pass_progress.setMaximumWidth(200)
        self.pass_progress.setFormat("forward pass %p%")
        self.pass_progress.hide()
        self.statusBar().addPermanentWidget(self.pass_progress)
        self._first_start_docks = False

        self._build_menus()
        self._build_toolbar()
        self.presentation = Presentation(
            self, self.canvas, self.explanation, (self.sentence_box, self.readout), self.toolbar,
            self._side_docks(), self.explanation_dock, state, self.next_token_dock,
        )
        self._connect()
        self.lesson_player = LessonPlayer(self, (recovery_dir or default_recovery_dir(self.settings)).parent)
        self.lesson_dock = self._dock("lessonDock", "Lesson", _scrolling(self.lesson_player), Qt.DockWidgetArea.RightDockWidgetArea, False)
        self.lesson_player.install_menu(self.menuBar(), self.lesson_dock)
        screen = self.screen().availableGeometry()  # a small laptop or projector: no bigger than it
        self.resize(min(DEFAULT_SIZE[0], screen.width()), min(DEFAULT_SIZE[1], screen.height()))
        self._default_layout = self.saveState()  # (for Window → Reset layout)
        self._restore_settings()
        self._sync_from_state()
        self._sync_side_docks()
        name_widgets(self)  # (screen readers: every widget says what it is)
        self.canvas.setFocus()  # at start-up the arrow keys and Space step, they do not type
        if self.recovery is not None:
            self.recovery.offer_restore(self, self.sessions.adopt_recovered)

    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea, visible: bool = True) -> QDockWidget:
        dock = QDockWidget(tr("Docks", title), self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setVisible(visible)
        self.addDockWidget(area, dock)
        return dock

    # -- menus and toolbar, from the declared actions ---------------------------------------------
    def _build_menus(self) -> None:
        a = self.actions
        menus = (
            ("&File", ["new", "open", "recent", None, "open_model", None, "save", "save_as", None, "export", None, "quit"]),
            ("&Edit", ["undo", "redo", None, "history", None, "params", "table"]),
            ("&Navigate", ["next", "back", "first", "last", None, "play", None, "next_layer", "prev_layer", "next_head", "prev_head", None, "focus_sentence"]),
            ("&View", ["causal", "scale", None, "columns", "numbers", "contrast", "colour_safe", "difference", "show_table", None,
                       "zoom_in", "zoom_out", "zoom_reset", None, "presentation", "leave_presentation"]),
            ("&Model", ["choose_preset", None, "presets", None, "open_model", "load_model"]),
            ("&Window", ["reset_layout"]),
            ("&Help", ["shortcuts", "about"]),
        )
        self.menus = {}
        for title, names in menus:
            menu = self.menuBar().addMenu(tr("Menus", title))
            key = title.strip("&").lower()
            menu.setObjectName(f"menu_{key}")
            self.menus[key] = menu
            for name in names:
                if name is None:
                    menu.addSeparator()
                elif name == "recent":
                    self.recent_menu = menu.addMenu(tr("Menus", "Open &recent"))
                    self.recent_menu.setObjectName("menu_recent")
                elif name == "export":
                    self.export_menu = menu.addMenu(tr("Menus", "&Export"))
                    self.export_menu.setObjectName("menu_export")
                    for export in ("export_png", "export_svg", "copy_image", None, "export_panel_png", "export_panel_svg", None, "export_all"):
                        if export is None:
                            self.export_menu.addSeparator()
                        else:
                            self.export_menu.addAction(a[export])
                elif name == "presets":
                    self._add_preset_actions(menu)
                else:
                    menu.addAction(a[name])
        self._add_language_menu(self.menus["view"])
        panels = self.menus["view"].addMenu(tr("Menus", "&Panels"))
        for dock in (self.navigator_dock, self.explanation_dock, self.next_token_dock, self.embedding_dock,
                     self.compare_dock, self.experiments_dock, self.params_dock, self.table_dock, self.history_dock):
            panels.addAction(dock.toggleViewAction())
        self.sessions.fill_recent_menu(self.recent_menu)

    def _add_language_menu(self, view: QMenu) -> None:
        """View → Language: one checkable entry per language, kept for the next start."""
        menu = view.addMenu(tr("Menus", "&Language"))
        menu.setObjectName("menu_language")
        group = QActionGroup(self)
        current = choose_language(None, self.settings)
        for code, name in LANGUAGES.items():
            action = menu.addAction(name)
            action.setObjectName(f"action_language_{code}")
            action.setCheckable(True)
            action.setChecked(code == current)
            group.addAction(action)
            action.triggered.connect(lambda _=False, code=code, name=name: self._choose_language(code, name))

    def _choose_language(self, code: str, name: str) -> None:
        self.settings.setValue(SETTINGS_KEY, code)
        self.state.message.emit(tr("Menus", "The language takes effect at the next start: {name}").format(name=name))

    def _add_preset_actions(self, menu: QMenu) -> None:
        """One checkable entry per built-in model, titled, with its description as tip."""
        self.preset_group = QActionGroup(self)
        self.preset_actions = {}
        for info in simulator.list_presets():
            action = menu.addAction(info.title)
            action.setObjectName(f"action_preset_{info.name}")
            action.setCheckable(True)
            action.setStatusTip(info.description)
            action.setToolTip(info.description)
            action.setData(info.name)
            self.preset_group.addAction(action)
            self.preset_actions[info.name] = action
        menu.setToolTipsVisible(True)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Stepping", self)
        bar.setObjectName("steppingToolbar")
        bar.setMovable(False)
        a = self.actions
        for name in ("first", "back", "play", "next", "last"):
            bar.addAction(a[name])
        bar.addWidget(self.speed_box)
        bar.addSeparator()
        bar.addWidget(self.layer_box)
        bar.addWidget(self.head_box)
        bar.addSeparator()
        for name in ("causal", "scale", "columns", "numbers", "difference"):
            bar.addAction(a[name])
        bar.addSeparator()
        bar.addAction(a["presentation"])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    # -- signals: the one place where the window subscribes -------------------------------------------
    def _connect(self) -> None:
        s, a = self.state, self.actions
        a["quit"].triggered.connect(self.close)
        a["new"].triggered.connect(lambda: self.sessions.new_session())
        a["open"].triggered.connect(lambda: self.sessions.open_session())
        # a scrub still in progress becomes its undo step first: the file and the history agree
        a["save"].triggered.connect(lambda: (self.weight_editor.end_scrub("the session was saved", keep=True), self.sessions.save()))
        a["save_as"].triggered.connect(lambda: (self.weight_editor.end_scrub("the session was saved", keep=True), self.sessions.save_as()))
        a["export_png"].triggered.connect(lambda: self.exporter.canvas_png())
        a["export_svg"].triggered.connect(lambda: self.exporter.canvas_svg())
        a["export_panel_png"].triggered.connect(lambda: self.exporter.panel_png())
        a["export_panel_svg"].triggered.connect(lambda: self.exporter.panel_svg())
        a["copy_image"].triggered.connect(self.exporter.copy_canvas)
        a["export_all"].triggered.connect(lambda: self.exporter.all_stages())
        a["history"].triggered.connect(lambda: self._show_dock(self.history_dock))
        a["params"].triggered.connect(self._open_params)
        a["table"].triggered.connect(self._toggle_table)
        a["load_model"].triggered.connect(lambda: self.model_loader.open_file())
        a["open_model"].triggered.connect(lambda: self.model_loader.open_folder())
        a["choose_preset"].triggered.connect(self.choose_preset)
        # (a way of looking, like stepping: not an edit, so Undo still takes back the last edit)
        a["difference"].triggered.connect(lambda on: s.apply_view(show_difference=bool(on)))
        self.preset_group.triggered.connect(lambda action: self.sessions.switch_preset(action.data()))
        self.sessions.recent_changed.connect(lambda: self.sessions.fill_recent_menu(self.recent_menu))
        self.sessions.path_changed.connect(self._sync_from_state)
        s.undo_stack.cleanChanged.connect(lambda clean: self.setWindowModified(not clean))
        self.params_browser.param_selected.connect(self.weight_table.show_param)
        self.params_browser.table_requested.connect(self._open_table)
        a["next"].triggered.connect(lambda: s.step(1))
        a["back"].triggered.connect(lambda: s.step(-1))
        a["first"].triggered.connect(s.first)
        a["last"].triggered.connect(s.last)
        a["play"].toggled.connect(self._set_playing)
        a["next_layer"].triggered.connect(lambda: self._shift_layer(1))
        a["prev_layer"].triggered.connect(lambda: self._shift_layer(-1))
        a["next_head"].triggered.connect(lambda: s.set_head((s.head + 1) % s.model.config.n_heads))
        a["prev_head"].triggered.connect(lambda: s.set_head((s.head - 1) % s.model.config.n_heads))
        a["focus_sentence"].triggered.connect(self.sentence_box.setFocus)
        self.sentence_box.finished.connect(self.canvas.setFocus)
        self.weight_editor.finished.connect(self.canvas.setFocus)
        a["causal"].triggered.connect(lambda on: s.undo_stack.push(SetOptionCommand(s, "causal", bool(on))))
        a["scale"].triggered.connect(lambda on: s.undo_stack.push(SetOptionCommand(s, "scale_scores", bool(on))))
        a["columns"].triggered.connect(
            lambda on: s.undo_stack.push(SetViewCommand(s, "layout", LAYOUT_COLUMNS if on else LAYOUT_ROWS))
        )
        a["numbers"].triggered.connect(lambda on: s.undo_stack.push(SetViewCommand(s, "show_numbers", bool(on))))
        a["contrast"].triggered.connect(lambda on: s.undo_stack.push(SetViewCommand(s, "high_contrast", bool(on))))
        a["colour_safe"].triggered.connect(lambda on: s.undo_stack.push(SetViewCommand(s, "colour_blind_safe", bool(on))))
        a["presentation"].toggled.connect(self.set_presentation)
        a["zoom_in"].triggered.connect(self.presentation.zoom_in)
        a["zoom_out"].triggered.connect(self.presentation.zoom_out)
        a["zoom_reset"].triggered.connect(self.presentation.reset_zoom)
        a["reset_layout"].triggered.connect(self.reset_layout)
        a["show_table"].triggered.connect(self.show_table)
        self.presentation.changed.connect(self._presentation_changed)
        a["leave_presentation"].triggered.connect(lambda: a["presentation"].setChecked(False))
        a["shortcuts"].triggered.connect(self.show_shortcuts)
        a["about"].triggered.connect(self._about)
        self.layer_box.valueChanged.connect(self._layer_chosen)
        self.head_box.valueChanged.connect(self._head_chosen)
        self.speed_box.currentIndexChanged.connect(lambda _: self.play_timer.setInterval(self.speed_box.currentData()))
        self.play_timer.timeout.connect(self._play_step)
        s.stage_changed.connect(self._sync_from_state)
        s.head_changed.connect(self._sync_from_state)
        s.trace_changed.connect(self._sync_from_state)
        s.model_changed.connect(self._sync_from_state)
        s.model_changed.connect(self._sync_side_docks)
        s.view_changed.connect(self._sync_from_state)
        s.hover_changed.connect(self._show_hover)
        s.busy_changed.connect(self.pass_progress.setVisible)
        s.progress.connect(lambda done, total: (self.pass_progress.setMaximum(max(total, 1)), self.pass_progress.setValue(done)))
        s.message.connect(lambda text: self.statusBar().showMessage(text, 6000))
        stack = s.undo_stack  # (connected after the stack's own: the step has happened)
        a["undo"].triggered.connect(lambda: s.message.emit(f"Undone: {stack.text(stack.index())}"))
        a["redo"].triggered.connect(lambda: s.message.emit(f"Redone: {stack.text(stack.index() - 1)}"))

    def _sync_from_state(self, *_: object) -> None:
        s, a = self.state, self.actions
        config = s.model.config
        a["causal"].setChecked(s.option("causal"))
        a["scale"].setChecked(s.option("scale_scores"))
        a["columns"].setChecked(s.view.layout == LAYOUT_COLUMNS)
        a["numbers"].setChecked(s.view.show_numbers)
        a["contrast"].setChecked(s.view.high_contrast)
        a["colour_safe"].setChecked(s.view.colour_blind_safe)
        a["difference"].setChecked(s.view.show_difference)
        current = self.preset_actions.get(s.model.info.name)
        for action in self.preset_actions.values():
            action.setChecked(action is current and s.model.info.source == f"preset:{s.model.info.name}")
        for box, value, top in ((self.layer_box, s.layer, config.n_layers - 1), (self.head_box, s.head, config.n_heads - 1)):
            box.blockSignals(True)
            if (box.minimum(), box.maximum()) != (0, max(top, 0)):  # (setRange re-lays out the toolbar and window)
                box.setRange(0, max(top, 0))
            if value is not None:
                box.setValue(value)
            box.blockSignals(False)
        self.layer_box.setEnabled(config.n_layers > 0)
        self.head_box.setEnabled(shows_heads(s.model, s.stage_id, s.option("causal")))
        ids = s.model.stage_ids()
        a["next"].setEnabled(s.stage_id != ids[-1] or a["play"].isChecked())
        a["back"].setEnabled(s.stage_id != ids[0])
        a["leave_presentation"].setEnabled(a["presentation"].isChecked())
        self.setWindowTitle(self.sessions.window_title(APP_NAME))
        self.setWindowModified(self.sessions.modified)

    def _sync_side_docks(self, force: bool = False) -> None:
        """The comparison dock exists only for sentence-embedding models: it appears (in front)
        when such a model is loaded and goes away when one without a pooled stage is. The
        next-token dock goes away for models that predict no next token (an encoder's tab would
        only say so, in front of useful ones) and comes back with one that does. ``force``:
        apply both even if the model kind did not change (after restoring a saved dock layout)."""
        predicts = self.next_token.supported
        self.next_token_dock.toggleViewAction().setEnabled(predicts)
        if force or predicts != self._next_token_supported:
            first = self._next_token_supported is None  # at start-up a decoder keeps the saved layout
            self._next_token_supported = predicts
            if not self.in_presentation and (force or not (first and predicts)):
                self.next_token_dock.setVisible(predicts)
        supported = self.compare.supported
        self.compare_dock.toggleViewAction().setEnabled(supported)
        if supported != self._compare_supported:
            self._compare_supported = supported
            if supported and not self.in_presentation:
                self._show_dock(self.compare_dock)
            else:
                self.compare_dock.hide()

    def _show_hover(self, hover: object) -> None:
        self.readout.setText(getattr(hover, "text", ""))

    # -- handlers ---------------------------------------------------------------------------------------
    def _show_dock(self, dock: QDockWidget) -> None:
        """Show a dock in front of the docks it shares a place with."""
        dock.show()
        dock.raise_()
        # raise_() alone leaves another tab in front here (PySide6 6.11, seen on X11 and
        # offscreen): choose the dock's tab in the main window's tab bars by its title
        name_widgets(self)  # (a dock's tab bar may be new)
        for bar in self.findChildren(QTabBar):
            for i in range(bar.count()):
                if bar.tabText(i) == dock.windowTitle():
                    bar.setCurrentIndex(i)

    def _stage_weight(self) -> str | None:
        """The first weight matrix the current stage uses (W_Q at the queries), if any."""
        params = [t.source for t in self.canvas.terms if t.is_param]
        matrices = [name for name in params if self.state.model.params[name].ndim >= 2]
        return (matrices or params or [None])[0]

    def _follow_stage_weight(self) -> None:
        """Opened from a stage (the browser not on screen yet): start on the weight used there."""
        name = self._stage_weight()
        if name is not None and not self.params_dock.isVisible():
            self.params_browser.select(name, head=self.state.head)

    def _dock_in_front(self, dock: QDockWidget) -> bool:
        """Visible and not hidden behind another tab."""
        return dock.isVisible() and not dock.visibleRegion().isEmpty()

    def _open_params(self, *_: object) -> None:
        """Edit → Parameters browser: opens it in front, or closes it when it is in front already."""
        if self._dock_in_front(self.params_dock):
            self.params_dock.hide()
            self.canvas.setFocus()
            return
        self._follow_stage_weight()
        self._show_dock(self.params_dock)

    def _toggle_table(self, *_: object) -> None:
        """Edit → Table editor: opens it, or closes it when it is on screen already."""
        if self._dock_in_front(self.table_dock):
            self.table_dock.hide()
            self.canvas.setFocus()
            return
        self._open_table()

    def _open_table(self, *_: object) -> None:
        self._follow_stage_weight()
        self.weight_table.show_param(self.params_browser.current_name, self.params_browser.head)
        first_time = not self.table_dock.isVisible()
        self._show_dock(self.table_dock)
        if first_time and not self.table_dock.isFloating():
            self.resizeDocks([self.table_dock], [max(self.height() // 3, 240)], Qt.Orientation.Vertical)

    def _shift_layer(self, delta: int) -> None:
        layer = self.state.layer
        n = self.state.model.config.n_layers
        if n:
            self.state.set_layer(max(0, min(n - 1, (layer if layer is not None else -1 if delta > 0 else n) + delta)))

    def _layer_chosen(self, layer: int) -> None:
        if self.state.model.config.n_layers:
            self.state.set_layer(layer)

    def _head_chosen(self, head: int) -> None:
        self.state.set_head(head)

    def _set_playing(self, playing: bool) -> None:
        a = self.actions["play"]
        a.setText("&Pause" if playing else "&Play")
        if playing:
            if self.state.stage_id == self.state.model.stage_ids()[-1]:
                self.state.first()
            self.play_timer.start(self.speed_box.currentData())
        else:
            self.play_timer.stop()

    def _play_step(self) -> None:
        if self.state.stage_id == self.state.model.stage_ids()[-1]:
            self.actions["play"].setChecked(False)
        else:
            self.state.step(1)

    def set_presentation(self, on: bool) -> None:
        """Full screen with large text and only the canvas, explanation and sentence visible."""
        self.presentation.set_active(on)

    def _presentation_changed(self) -> None:
        on = self.presentation.active
        self.actions["presentation"].setChecked(on)
        self.actions["leave_presentation"].setEnabled(on)
        if not on:
            self._compare_supported = None  # the model may have changed meanwhile
            self._sync_side_docks(force=True)
        percent = round(self.presentation.zoom * 100)
        self.actions["zoom_reset"].setText(tr("Actions", "&Actual size (now {percent} %)").format(percent=percent))

    def _side_docks(self) -> tuple[QDockWidget, ...]:
        """The docks presentation mode hides (all but the explanation)."""
        return (self.navigator_dock, self.embedding_dock, self.next_token_dock, self.compare_dock,
                self.params_dock, self.table_dock, self.history_dock)

    def reset_layout(self) -> None:
        """Window → Reset layout: every dock back in its first-start place and size."""
        if self.in_presentation:
            self.actions["presentation"].setChecked(False)
        self.restoreState(self._default_layout)
        self._compare_supported = None
        self._sync_side_docks(force=True)
        self._size_docks_for_first_start()
        self.state.message.emit("Layout reset: every panel is back in its first-start place")

    @property
    def in_presentation(self) -> bool:
        return self.presentation.active

    def choose_preset(self) -> PresetPickerDialog:
        """Model → Choose preset…: a window-modal picker; Open switches through the session controller."""
        s = self.state
        current = s.model.info.name if s.model.info.source == f"preset:{s.model.info.name}" else None
        dialog = PresetPickerDialog(simulator.list_presets(), current, s.text, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(lambda name, text: self.sessions.switch_preset(name, text))
        dialog.open()
        return dialog

    def show_table(self) -> QDialog:
        """View → Show as table: the chosen panel's matrix with headers, copyable."""
        dialog = MatrixTableDialog(self.canvas.chosen_panel().matrix, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_shortcuts(self) -> QDialog:
        dialog = ShortcutsDialog(self.actions, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # else every F1 keeps a dialog alive
        dialog.show()
        return dialog

    def _about(self) -> None:
        QMessageBox.about(
            self,
            APP_NAME,
            "<b>Transformer Step-Through Simulator</b><br>Click through one forward pass of a transformer, "
            "one stage at a time. Every number on screen is computed by the engine from the model's real weights.",
        )

    # -- settings ----------------------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._first_start_docks:
            self._first_start_docks = False
            self._size_docks_for_first_start()
        if self._compare_supported and self.compare_dock.isVisible():
            QTimer.singleShot(0, lambda: self._show_dock(self.compare_dock))  # (tabs exist once shown)

    def _size_docks_for_first_start(self) -> None:
        """The canvas gets most of the width; on small screens and projectors the side docks
        give up some of theirs. The explanation is read and the chart below it glanced at: the
        text gets the larger half of the right column."""
        width = self.width()
        navigator, explanation = (220, 320) if width >= 1500 else (int(width * 0.15), int(width * 0.24))
        self.resizeDocks([self.navigator_dock, self.explanation_dock], [navigator, explanation], Qt.Orientation.Horizontal)
        self.resizeDocks([self.explanation_dock, self.next_token_dock], [55, 45], Qt.Orientation.Vertical)

    def _restore_settings(self) -> None:
        damaged = [key for key, restore in (("window/geometry", self.restoreGeometry), ("window/state", self.restoreState))
                   if not self._restore_saved_bytes(key, restore)]
        if not self.settings.contains("window/state"):  # first start: docks are sized when first shown, at real size
            self._first_start_docks = True
        if damaged:
            self.statusBar().showMessage(
                f"The saved window {' and '.join(k.split('/')[1] for k in damaged)} could not be read and was set aside; "
                "the window starts with its default layout.",
                15000,
            )
        view = {}
        for name, kind in DISPLAY_SETTINGS:
            key = f"display/{name}"
            if self.settings.contains(key):
                value = self.settings.value(key, getattr(self.state.view, name), type=kind)
                if name != "layout" or value in (LAYOUT_ROWS, LAYOUT_COLUMNS):
                    view[name] = value
        self.state.apply_view(**view)
        if self.settings.contains("display/play_speed"):
            speed = self.settings.value("display/play_speed", self.speed_box.currentIndex(), type=int)
            if 0 <= speed < self.speed_box.count():
                self.speed_box.setCurrentIndex(speed)

    def _restore_saved_bytes(self, key: str, restore: Callable[[QByteArray], bool]) -> bool:
        """Apply a saved Qt state blob; a value of the wrong type or bytes Qt cannot read are
        removed from the settings (so they cannot stop the next start either). False if so."""
        value = self.settings.value(key)
        if value is None and not self.settings.contains(key):
            return True
        if isinstance(value, (bytes, bytearray)):
            value = QByteArray(bytes(value))
        if isinstance(value, QByteArray) and not value.isEmpty() and restore(value):
            return True
        self.settings.remove(key)
        return False

    def save_settings(self) -> None:
        if self.in_presentation:
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        auto_hidden = self._next_token_supported is False and not self.next_token_dock.isVisible()
        if auto_hidden:  # hidden for this model, not by the user: the next start shows it again
            self.next_token_dock.show()
        self.settings.setValue("window/state", self.saveState())
        if auto_hidden:
            self.next_token_dock.hide()
        for name, _ in DISPLAY_SETTINGS:
            self.settings.setValue(f"display/{name}", getattr(self.state.view, name))
        self.settings.setValue("display/play_speed", self.speed_box.currentIndex())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.sessions.maybe_save("quit"):
            event.ignore()
            return
        self.play_timer.stop()
        self.model_loader.shutdown()
        if self.in_presentation:
            self.actions["presentation"].setChecked(False)
        self.save_settings()
        if self.recovery is not None:
            self.recovery.shutdown()
        event.accept()
