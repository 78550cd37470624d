"""Export: the canvas and single panels as PNG and SVG, the clipboard, and every stage as
numbered PNGs (with Cancel)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QContextMenuEvent, QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QLabel, QMenu, QMessageBox, QProgressDialog

from tests.gui_actions import panel_for
from ui.export import (
    ExportError,
    ExportOptions,
    ExportOptionsDialog,
    export_all_stages,
    export_jobs,
    export_png,
    export_svg,
    stage_file_names,
)


def distinct_colours(image: QImage, samples: int = 40) -> int:
    assert not image.isNull()
    w, h = image.width(), image.height()
    return len({image.pixel(x, y) for x in range(0, w, max(1, w // samples)) for y in range(0, h, max(1, h // samples))})


def svg_as_image(path: Path, size: QSize | None = None) -> QImage:
    renderer = QSvgRenderer(str(path))
    assert renderer.isValid(), f"{path} is not a valid SVG"
    size = size or renderer.defaultSize()
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    renderer.render(painter, QRectF(0, 0, size.width(), size.height()))
    painter.end()
    return image


def test_canvas_exports_as_png_and_svg(make_main_window, tmp_path, monkeypatch) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.scores")
    assert window.exporter.canvas_png(str(tmp_path / "scores.png"))
    image = QImage(str(tmp_path / "scores.png"))
    assert image.size() == window.canvas.size()
    assert distinct_colours(image) > 30
    assert window.exporter.canvas_svg(str(tmp_path / "scores"))  # the suffix is added
    text = (tmp_path / "scores.svg").read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert window.state.trace.stage("blocks.0.attn.scores").title in text, "the header is vector text"
    assert distinct_colours(svg_as_image(tmp_path / "scores.svg")) > 30
    # through the menu, with the options and file dialogs answered
    monkeypatch.setattr(ExportOptionsDialog, "ask", staticmethod(lambda parent, options, kind: options))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "from-menu.png"), ""))
    window.actions["export_png"].trigger()
    assert distinct_colours(QImage(str(tmp_path / "from-menu.png"))) > 30


def test_one_panel_exports_with_pyqtgraph_at_double_size(make_main_window, tmp_path, monkeypatch) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.q")
    panel = panel_for(window, "blocks.0.attn.W_Q")
    assert window.exporter.panel_png(panel, str(tmp_path / "wq.png"))
    image = QImage(str(tmp_path / "wq.png"))
    assert image.width() == 2 * panel.width()
    assert distinct_colours(image) > 20
    assert window.exporter.panel_svg(panel, str(tmp_path / "wq.svg"))
    assert "<clipPath" in (tmp_path / "wq.svg").read_text(), "cells are clipped to the plot as on screen"
    drawn = svg_as_image(tmp_path / "wq.svg", panel.size())
    assert distinct_colours(drawn) > 20
    # the SVG puts every cell where the screen does, in the screen's colour
    screen = panel.grab().toImage()
    for row, col in ((0, 0), (7, 3), (15, 7)):
        a = panel.cell_center_in_widget(row, col)
        b = panel.cell_center_in_widget(row + 1, col + 1)
        width = b.x() - a.x()  # beside the number (there is none in cells too narrow for one)
        x, y = int(a.x() - width * 0.3 if width >= 12 else a.x()), int(a.y() - (b.y() - a.y()) * 0.3)
        on_screen, in_svg = screen.pixelColor(x, y), drawn.pixelColor(x, y)
        assert max(abs(on_screen.red() - in_svg.red()), abs(on_screen.green() - in_svg.green()),
                   abs(on_screen.blue() - in_svg.blue())) < 12, (row, col, on_screen.name(), in_svg.name())
    # File → Export → One panel asks which one
    asked = []

    def choose(parent, title, label, items, current, editable):
        asked.append(list(items))
        return items[0], True

    monkeypatch.setattr(QInputDialog, "getItem", choose)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "first.svg"), ""))
    window.actions["export_panel_svg"].trigger()
    assert asked and asked[0][0].startswith("1. X") and len(asked[0]) == len(window.canvas.panels)
    assert (tmp_path / "first.svg").stat().st_size > 1000


def test_right_click_on_a_panel_offers_export(make_main_window) -> None:
    window = make_main_window(stage="blocks.0.attn.q")
    panel = window.canvas.result_panel
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, QPoint(20, 20), panel.viewport().mapToGlobal(QPoint(20, 20)))
    QApplication.sendEvent(panel.viewport(), event)
    menus = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    assert len(menus) == 1
    texts = [a.text() for a in menus[0].actions()]
    menus[0].close()
    # (a head's panel also offers switching its head off, above the export actions)
    assert texts[:5] == ["Head 0 of block 0", "Switch off (zero)", "Switch off (mean)", "Switch on", ""]
    assert texts[5:] == ["Export this panel as PNG…", "Export this panel as SVG…", "Copy this panel to the clipboard"]


def test_copy_to_clipboard(make_main_window) -> None:
    window = make_main_window(stage="blocks.0.attn.pattern")
    QGuiApplication.clipboard().clear()
    window.actions["copy_image"].trigger()
    image = QGuiApplication.clipboard().image()
    assert image.size() == window.canvas.size() * window.canvas.devicePixelRatio()
    assert distinct_colours(image) > 20


def test_export_all_stages_writes_numbered_pngs_in_forward_order(make_main_window, tmp_path, monkeypatch) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.z")
    ids = window.state.model.stage_ids()
    monkeypatch.setattr(ExportOptionsDialog, "ask", staticmethod(lambda parent, options, kind: options))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    window.actions["export_all"].trigger()
    files = sorted(p.name for p in tmp_path.glob("*.png"))
    assert files == stage_file_names(ids)
    assert files[0] == "01-tokens.png" and files[1] == "02-embed.png" and files[-1].endswith("-probs.png")
    assert [name.split("-", 1)[1][:-4] for name in files] == ids
    for name in (files[0], files[len(files) // 2], files[-1]):
        assert distinct_colours(QImage(str(tmp_path / name))) > 20
    assert QImage(str(tmp_path / files[0])).size() == window.canvas.size()
    assert window.state.stage_id == "blocks.0.attn.z", "the stage on screen is put back"
    assert "Wrote" in window.statusBar().currentMessage()
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog) and w.isVisible()]


def test_export_all_stages_can_be_cancelled(make_main_window, tmp_path) -> None:
    window = make_main_window(stage="embed")
    state = window.state
    progress = QProgressDialog("Exporting…", "Cancel", 0, 1, window)
    seen: list[str] = []

    def cancel_after_three(stage_id: str) -> None:
        seen.append(stage_id)
        if len(seen) == 3:
            progress.cancel()

    state.stage_changed.connect(cancel_after_three)
    written = export_all_stages(state, window.canvas, tmp_path, progress)
    state.stage_changed.disconnect(cancel_after_three)
    progress.close()
    assert [p.name for p in written] == stage_file_names(state.model.stage_ids())[:3]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [p.name for p in written]
    assert state.stage_id == "embed"


def test_export_failures_are_reported(make_main_window, tmp_path, monkeypatch) -> None:
    window = make_main_window()
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: warnings.append(text))
    assert not window.exporter.canvas_png(str(tmp_path / "missing" / "x.png"))
    assert "does not exist" in warnings[-1]
    assert not window.exporter.all_stages(str(tmp_path / "nowhere"))
    assert "not an existing folder" in warnings[-1]
    with pytest.raises(ExportError):
        export_svg(window.canvas, tmp_path / "missing" / "x.svg")
    with pytest.raises(ExportError):
        export_png(window.canvas.result_panel, tmp_path / "missing" / "x.png")
    assert not list(tmp_path.rglob("*.png")) and not list(tmp_path.rglob("*.svg"))


def _failing_save(monkeypatch, fail_on: int = 1) -> list[str]:  # noqa: ANN001
    """Make the ``fail_on``-th QPixmap.save write half a file and report failure (a full disk)."""
    from PySide6.QtGui import QPixmap

    calls: list[str] = []
    original = QPixmap.save

    def save(pixmap, name, *args, **kwargs):  # noqa: ANN001, ANN202
        calls.append(str(name))
        if len(calls) == fail_on:
            Path(name).write_bytes(b"\x89PNG half a picture")
            return False
        return original(pixmap, name, *args, **kwargs)

    monkeypatch.setattr(QPixmap, "save", save)
    return calls


def test_a_failing_png_export_leaves_the_previous_picture_and_says_so(make_main_window, tmp_path, monkeypatch) -> None:
    window = make_main_window()
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: warnings.append(text))
    target = tmp_path / "canvas.png"
    assert window.exporter.canvas_png(str(target))
    before = target.read_bytes()
    _failing_save(monkeypatch)
    assert not window.exporter.canvas_png(str(target))
    assert target.read_bytes() == before
    assert len(warnings) == 1 and "the previous file is unchanged" in warnings[0]
    assert "previous file is unchanged" in window.statusBar().currentMessage()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canvas.png"], "no temporary file is left"


def test_a_failing_svg_painter_leaves_the_previous_drawing(make_main_window, tmp_path, monkeypatch) -> None:
    window = make_main_window()
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: warnings.append(text))
    target = tmp_path / "canvas.svg"
    assert window.exporter.canvas_svg(str(target))
    before = target.read_bytes()
    original = QPainter.end
    monkeypatch.setattr(QPainter, "end", lambda painter: original(painter) and False)  # ends, but reports a failed write
    assert not window.exporter.canvas_svg(str(target))
    assert target.read_bytes() == before
    assert len(warnings) == 1 and "the previous file is unchanged" in warnings[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canvas.svg"]


def test_a_failing_export_of_every_stage_keeps_the_earlier_pictures(make_main_window, tmp_path, monkeypatch) -> None:
    """Export all stages writes each picture atomically: a full disk at the third picture leaves
    the third picture of the previous export intact (not half a file) and reports the failure."""
    window = make_main_window(stage="embed")
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a: warnings.append(text))
    assert window.exporter.all_stages(str(tmp_path))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    n = len(window.state.model.stage_ids())
    assert len(before) == n
    _failing_save(monkeypatch, fail_on=3)
    assert not window.exporter.all_stages(str(tmp_path))
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert sorted(after) == sorted(before), "no temporary file is left"
    third = stage_file_names(window.state.model.stage_ids())[2]
    assert after[third] == before[third], "the picture that failed keeps its previous version"
    assert len(warnings) == 1
    assert "disk is full" in warnings[0] and "the previous file is unchanged" in warnings[0]
    assert f"2 of {n} pictures were written" in warnings[0]
    assert window.state.stage_id == "embed"


# -- size, resolution, caption, every head ------------------------------------------------------------
def _answer_options(monkeypatch, options: ExportOptions | None, asked: list | None = None) -> None:  # noqa: ANN001
    def ask(parent, current, kind):  # noqa: ANN001, ANN202
        if asked is not None:
            asked.append((current, kind))
        return options

    monkeypatch.setattr(ExportOptionsDialog, "ask", staticmethod(ask))


@pytest.mark.parametrize(
    ("size", "scale", "caption", "expected"),
    [("1920x1080", 1, False, (1920, 1080)), ("1920x1080", 2, True, (3840, 2160)), ("1280x720", 1, True, (1280, 720)),
     ("1280x720", 2, False, (2560, 1440)), ("shown", 2, False, None), ("shown", 1, True, None)],
)
def test_an_exported_png_has_the_chosen_pixel_size(make_main_window, tmp_path, size, scale, caption, expected) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.scores")
    options = ExportOptions(size=size, scale=scale, caption=caption)
    shown = window.canvas.size()
    if expected is None:
        expected = (shown.width() * scale, (shown.height() + (32 if caption else 0)) * scale)
    window.exporter.set_options(options)
    assert window.exporter.canvas_png(str(tmp_path / "slide.png"))
    image = QImage(str(tmp_path / "slide.png"))
    assert (image.width(), image.height()) == expected
    assert options.pixel_size(shown) == QSize(*expected)
    assert distinct_colours(image) > 30, "the canvas is drawn, not a blank picture"


def _ink(image: QImage, top: int, bottom: int, right: int) -> int:
    """How many pixels of the rows top..bottom, left of ``right``, differ from the corner colour."""
    corner = image.pixel(0, 0)
    return sum(image.pixel(x, y) != corner for y in range(top, bottom) for x in range(right))


def test_a_caption_names_the_model_sentence_and_stage(make_main_window, tmp_path, monkeypatch) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.scores")
    state = window.state
    strip = round(1080 * 0.05)
    square = QLabel("a square picture")
    square.resize(400, 400)
    for caption in (False, True):
        export_png(square, tmp_path / f"c{caption}.png", ExportOptions("1920x1080", 1, caption), "Toy · a caption")
    plain, captioned = QImage(str(tmp_path / "cFalse.png")), QImage(str(tmp_path / "cTrue.png"))
    left = (1920 - 400 * (1080 - strip) / 400) / 2  # the square, scaled to the height, is centred
    assert _ink(plain, 0, strip, int(left) - 2) == 0, "without a caption the top left is blank"
    assert _ink(captioned, 0, strip, int(left) - 2) > 50, "the caption strip holds text"
    export_png(window.canvas, tmp_path / "canvas.png", ExportOptions("1920x1080", 1, True), "x")
    assert distinct_colours(QImage(str(tmp_path / "canvas.png"))) > 30
    # the menu's SVG: the caption is vector text with the model, the sentence and the stage
    _answer_options(monkeypatch, ExportOptions("1280x720", 1, caption=True))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "slide.svg"), ""))
    window.actions["export_svg"].trigger()
    text = (tmp_path / "slide.svg").read_text()
    title = state.trace.stage("blocks.0.attn.scores").title
    caption = next(line for line in text.splitlines() if "a fluffy blue creature" in line)
    assert state.model.info.title in caption and title in caption and "head 0" in caption
    assert 'viewBox="0 0 1280 720"' in text and 'width="338.667mm"' in text, "1280 × 720 at 96 dpi"
    assert distinct_colours(svg_as_image(tmp_path / "slide.svg", QSize(1280, 720))) > 30


def test_the_export_options_are_asked_first_and_remembered(make_main_window, tmp_path, monkeypatch, settings_path) -> None:
    from PySide6.QtCore import QSettings

    window = make_main_window(stage="embed")
    asked: list = []
    chosen = ExportOptions("1280x720", 2, caption=True, heads=False)
    _answer_options(monkeypatch, chosen, asked)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "menu.png"), ""))
    window.actions["export_png"].trigger()
    assert asked == [(ExportOptions(), "png")], "the dialog opens with the remembered (default) choices"
    assert QImage(str(tmp_path / "menu.png")).size() == QSize(2560, 1440)
    window.settings.sync()
    assert ExportOptions.load(QSettings(str(settings_path), QSettings.Format.IniFormat)) == chosen, "kept for the next start"
    window.actions["export_png"].trigger()
    assert asked[-1] == (chosen, "png")
    # Cancel in the options dialog: no file dialog, nothing written
    _answer_options(monkeypatch, None)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: pytest.fail("the file dialog opened after Cancel"))
    assert not window.exporter.canvas_png() and not window.exporter.canvas_svg() and not window.exporter.all_stages()
    assert window.exporter.options() == chosen


def test_damaged_export_settings_fall_back_to_the_defaults(tmp_path) -> None:
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    for key, value in (("size", "4000x9"), ("scale", "7"), ("caption", "maybe"), ("heads", [1, 2])):
        settings.setValue(f"export/{key}", value)
    assert ExportOptions.load(settings) == ExportOptions()
    settings.setValue("export/caption", "true")
    settings.setValue("export/scale", "2")
    assert ExportOptions.load(settings) == ExportOptions(scale=2, caption=True)


def test_the_options_dialog_shows_the_choices_for_its_export(qtbot) -> None:
    options = ExportOptions("1920x1080", 2, caption=True, heads=True)
    for kind in ("png", "svg", "all"):
        dialog = ExportOptionsDialog(None, options, kind)
        qtbot.addWidget(dialog)
        assert dialog.options() == ExportOptions("1920x1080", 2, True, True)
        assert dialog.scale_choice.isEnabled() == (kind != "svg")
        assert (dialog.heads_box.parent() is dialog and not dialog.heads_box.isHidden()) == (kind == "all")
    dialog.size_choice.setCurrentIndex(dialog.size_choice.findData("shown"))
    dialog.caption_box.setChecked(False)
    assert dialog.options() == ExportOptions("shown", 2, False, True)


def test_all_stages_with_every_head_writes_one_picture_per_head(make_main_window, tmp_path, monkeypatch) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.z", head=1)
    state = window.state
    n_heads = state.model.config.n_heads
    assert n_heads == 2
    _answer_options(monkeypatch, ExportOptions(heads=True, caption=True))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    window.actions["export_all"].trigger()
    files = sorted(p.name for p in tmp_path.glob("*.png"))
    ids = state.model.stage_ids()
    per_head = [sid for sid in ids if state.model.graph[sid].has_heads]  # with two heads, attn_out shows both
    assert "blocks.0.attn.q" in per_head and "blocks.1.attn.pattern" in per_head and "blocks.0.attn_out" not in per_head
    names = dict(zip(ids, stage_file_names(ids)))
    for sid in ids:
        stem = names[sid][:-4]
        heads = sorted(f for f in files if f.startswith(stem + "-head"))
        if sid in per_head:
            assert heads == [f"{stem}-head{h}.png" for h in range(n_heads)], sid
            assert names[sid] not in files
            first, second = (tmp_path / h for h in heads)
            assert first.read_bytes() != second.read_bytes(), f"{sid}: each head is its own picture"
        else:
            assert heads == [] and names[sid] in files, sid
    assert files == sorted(name for _, _, name in export_jobs(state, heads=True))
    assert len(files) == len(ids) + (n_heads - 1) * sum(1 for _, h, _ in export_jobs(state, True) if h == 0)
    assert state.stage_id == "blocks.0.attn.z" and state.head == 1, "the stage and head on screen are put back"
    assert f"Wrote {len(files)} stage pictures" in window.statusBar().currentMessage()
    # without "every head": one picture per stage, as before
    assert [name for _, _, name in export_jobs(state, heads=False)] == stage_file_names(ids)
