"""The pipeline navigator: every stage of the forward pass as a tree, the current one highlighted.

It shows the student where they are in the whole pass (embedding, each block's attention and
MLP, the output) and lets them jump anywhere with a click, Enter, or the arrow keys. Right-click
a block's attention or MLP to switch one of its heads, or the whole MLP, off or on; switched-off
parts are marked on their group's heading.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTreeWidget, QTreeWidgetItem, QWidget

from simulator import stage_kinds
from ui.experiments_panel import add_switch_actions
from simulator.model import Model
from ui.state import AppState, Switch, head_switch, neuron_switch

STAGE_ROLE = Qt.ItemDataRole.UserRole
#: a group heading's own tooltip (the switched-off parts are added below it)
START_ROLE = Qt.ItemDataRole.UserRole + 1
CURRENT_BACKGROUND = QColor("#ffe2b8")
ID_COLOR = QColor("#6b6b6b")

_EMBEDDING = "Embedding"
_OUTPUT = "Output"
_ATTENTION = "Attention"
_MLP = "MLP"
#: written before a switched-off part's name on its group's heading
OFF_MARK = "⊘"
#: the heading of each navigator group of the stage-kind registry inside a block ("": none)
_SUB_GROUPS = {stage_kinds.ATTENTION: _ATTENTION, stage_kinds.MLP: _MLP, stage_kinds.BLOCK: ""}


class PipelineNavigator(QTreeWidget):
    """Tree of the model's stages in forward order; item data (``Qt.UserRole``) is the stage id."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pipelineNavigator")
        self._state = state
        self._items: dict[str, QTreeWidgetItem] = {}
        self._blocks: dict[int, QTreeWidgetItem] = {}
        self._attention_groups: dict[int, QTreeWidgetItem] = {}
        self._mlp_groups: dict[int, QTreeWidgetItem] = {}
        self._current: QTreeWidgetItem | None = None
        self._syncing = False
        #: width needed to show whole titles and the id column; narrower, the ids go to tooltips only
        self._wide_width = 0
        self.setColumnCount(2)
        self.setHeaderLabels(["Stage", "id"])
        self.setHeaderHidden(True)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._rebuild()
        self._connect()

    # -- signals: the one place where the panel subscribes ------------------------------------------
    def _connect(self) -> None:
        s = self._state
        s.model_changed.connect(self._rebuild)
        s.stage_changed.connect(self._show_current)
        s.head_changed.connect(self._update_head_labels)
        s.ablations_changed.connect(self._update_head_labels)
        self.customContextMenuRequested.connect(self._context_menu_requested)
        self.itemSelectionChanged.connect(self._selection_changed)
        self.itemActivated.connect(self._item_activated)

    # -- reading (for tests and the window) ------------------------------------------------------------
    def item_for(self, stage_id: str) -> QTreeWidgetItem:
        """The tree item of a stage."""
        return self._items[stage_id]

    def current_item_stage(self) -> str | None:
        """The stage id of the highlighted item."""
        return None if self._current is None else self._current.data(0, STAGE_ROLE)

    # -- building ----------------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        self._syncing = True
        try:
            self.clear()
            self._items.clear()
            self._blocks.clear()
            self._attention_groups.clear()
            self._mlp_groups.clear()
            self._current = None
            model = self._state.model
            ids = model.stage_ids()
            total = len(ids)
            top: QTreeWidgetItem | None = None
            top_name = ""
            sub: QTreeWidgetItem | None = None
            sub_name = ""
            for step, sid in enumerate(ids, start=1):
                spec = model.graph[sid]
                kind_group = stage_kinds.stage_kind(spec.kind).navigator_group(model.config.norm)
                if spec.block is None:
                    name = _OUTPUT if kind_group == stage_kinds.OUTPUT else _EMBEDDING
                else:
                    name = f"Block {spec.layer}"
                if top is None or name != top_name:
                    top = self._group(None, name, sid)
                    top_name = name
                    sub, sub_name = None, ""
                    if spec.layer is not None:
                        self._blocks[spec.layer] = top
                group = _SUB_GROUPS[kind_group] if spec.block is not None else ""
                if group and (sub is None or group != sub_name):
                    sub = self._group(top, group, sid)
                    sub_name = group
                    if group == _ATTENTION:
                        self._attention_groups[spec.layer] = sub
                    elif group == _MLP:
                        self._mlp_groups[spec.layer] = sub
                elif not group:
                    sub, sub_name = None, ""
                parent = sub if group else top
                item = QTreeWidgetItem(parent, [spec.title, spec.kind])
                item.setData(0, STAGE_ROLE, sid)
                item.setToolTip(0, f"step {step} of {total} · {sid}\n{spec.equation}")
                item.setToolTip(1, sid)
                item.setForeground(1, QBrush(ID_COLOR))
                self._items[sid] = item
            for i in range(self.topLevelItemCount()):
                self.topLevelItem(i).setExpanded(True)
            for block in self._blocks.values():
                block.setExpanded(False)
                for j in range(block.childCount()):
                    block.child(j).setExpanded(True)
            self._update_head_labels()
            self._wide_width = self._needed_width()
        finally:
            self._syncing = False
        self._fit_columns()
        self._show_current(self._state.stage_id)

    def _needed_width(self) -> int:
        bold = QFont(self.font())
        bold.setBold(True)
        metrics = QFontMetrics(bold)
        titles = ids = 0
        for item in self._items.values():
            depth = 1
            parent = item.parent()
            while parent is not None:
                depth += 1
                parent = parent.parent()
            titles = max(titles, depth * self.indentation() + metrics.horizontalAdvance(item.text(0)))
            ids = max(ids, metrics.horizontalAdvance(item.text(1)))
        return titles + ids + 24

    def _fit_columns(self) -> None:
        self.setColumnHidden(1, self.viewport().width() < self._wide_width)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_columns()

    def _group(self, parent: QTreeWidgetItem | None, name: str, first_stage: str) -> QTreeWidgetItem:
        item = QTreeWidgetItem([name, ""]) if parent is None else QTreeWidgetItem(parent, [name, ""])
        if parent is None:
            self.addTopLevelItem(item)
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)  # groups are headings, not stages
        font = QFont(self.font())
        font.setBold(True)
        item.setFont(0, font)
        item.setFirstColumnSpanned(True)
        item.setToolTip(0, f"starts at {first_stage}")
        item.setData(0, START_ROLE, f"starts at {first_stage}")
        return item

    # -- following the state -------------------------------------------------------------------------------
    def _show_current(self, stage_id: str) -> None:
        item = self._items.get(stage_id)
        if item is None:
            return
        self._syncing = True
        try:
            if self._current is not None and self._current is not item:
                self._set_current_look(self._current, False)
            self._current = item
            self._set_current_look(item, True)
            layer = self._state.model.graph[stage_id].layer
            if layer is not None:  # open the current block, fold the others away
                for block_layer, block in self._blocks.items():
                    block.setExpanded(block_layer == layer)
            parent = item.parent()
            while parent is not None:
                parent.setExpanded(True)
                parent = parent.parent()
            self.setCurrentItem(item)
            item.setSelected(True)
            self.scrollToItem(item, QAbstractItemView.ScrollHint.EnsureVisible)
        finally:
            self._syncing = False

    def _set_current_look(self, item: QTreeWidgetItem, current: bool) -> None:
        font = QFont(self.font())
        font.setBold(current)
        item.setFont(0, font)
        brush = QBrush(CURRENT_BACKGROUND) if current else QBrush()
        item.setBackground(0, brush)
        item.setBackground(1, brush)

    def _update_head_labels(self, *_: object) -> None:
        """Group headings: the current head, and every switched-off part of the group."""
        model = self._state.model
        for layer, group in self._attention_groups.items():
            names = model.axis_labels("head", layer, model.config.n_heads)
            off = [s for s in self._state.ablations if s.stage == f"blocks.{layer}.attn.z"]
            marks = "".join(f" {OFF_MARK}{names[s.head]}" for s in off if s.head is not None)
            group.setText(0, f"{_ATTENTION} · {names[self._state.head]}{marks}")
            group.setToolTip(0, "\n".join([group.data(0, START_ROLE), *_off_lines(model, off)]))
        for layer, group in self._mlp_groups.items():
            off = [s for s in self._state.ablations if s.stage == f"blocks.{layer}.mlp.post"]
            whole = any(s.index is None for s in off)
            marks = f" {OFF_MARK}all" if whole else (f" {OFF_MARK}{len(off)} neuron{'s' if len(off) != 1 else ''}" if off else "")
            group.setText(0, f"{_MLP}{marks}")
            group.setToolTip(0, "\n".join([group.data(0, START_ROLE), *_off_lines(model, off)]))

    def group_text(self, layer: int, group: str) -> str:
        """The heading of block ``layer``'s "Attention" or "MLP" group as shown."""
        groups = self._attention_groups if group == _ATTENTION else self._mlp_groups
        return groups[layer].text(0)

    # -- switching parts off ---------------------------------------------------------------------------------
    def context_menu_for(self, item: QTreeWidgetItem | None) -> QMenu | None:
        """The right-click menu of ``item``: for a block's attention (heading or stage) a submenu
        per head, for its MLP the whole MLP's switch actions; None elsewhere."""
        if item is None:
            return None
        model = self._state.model
        layer, group = self._group_of(item)
        if layer is None:
            return None
        menu = QMenu(self)
        if group == _ATTENTION:
            names = model.axis_labels("head", layer, model.config.n_heads)
            for head in range(model.config.n_heads):
                part = head_switch(layer, head)
                off = self._state.ablation_for(part.part)
                sub = menu.addMenu(names[head][:1].upper() + names[head][1:] + (f"  {OFF_MARK} off ({off.mode})" if off else ""))
                add_switch_actions(sub, self._state, part)
        elif group == _MLP:
            title = menu.addAction(f"The whole MLP of block {layer}")
            title.setEnabled(False)
            add_switch_actions(menu, self._state, neuron_switch(layer, None))
        else:
            return None
        return menu

    def _group_of(self, item: QTreeWidgetItem) -> tuple[int | None, str]:
        for layer, group in self._attention_groups.items():
            if item is group or item.parent() is group:
                return layer, _ATTENTION
        for layer, group in self._mlp_groups.items():
            if item is group or item.parent() is group:
                return layer, _MLP
        return None, ""

    def _context_menu_requested(self, pos: QPoint) -> None:
        menu = self.context_menu_for(self.itemAt(pos))
        if menu is not None:
            menu.exec(self.viewport().mapToGlobal(pos))
            menu.deleteLater()

    # -- user input ---------------------------------------------------------------------------------------
    def _selection_changed(self) -> None:
        if self._syncing:
            return
        selected = self.selectedItems()
        if selected:
            self._go(selected[0])

    def _item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        self._go(item)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self._go(self.currentItem())
            event.accept()
            return
        super().keyPressEvent(event)

    def _go(self, item: QTreeWidgetItem) -> None:
        sid = item.data(0, STAGE_ROLE)
        if not sid:
            return
        if sid == self._state.stage_id:
            self._show_current(sid)  # put the highlight back where the user clicked
        else:
            self._state.set_stage(sid)



def _off_lines(model: Model, off: list[Switch]) -> list[str]:
    return [f"{OFF_MARK} switched off ({s.mode}): {s.describe(model)}" for s in off]
