"""The engine must stay importable and usable without Qt, pyqtgraph, torch or transformers."""

import subprocess
import sys


def test_simulator_imports_no_gui_or_torch() -> None:
    code = (
        "import sys, simulator\n"
        "m = simulator.load('toy')\n"
        "t = m.trace('a fluffy blue creature')\n"
        "[t[s] for s in m.stage_ids()]\n"
        "import simulator.cli\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('PySide6', 'pyqtgraph', 'torch', 'transformers', 'shiboken6', 'ui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"simulator imported {out.stdout.strip()}"


def _imports(path) -> set[str]:  # noqa: ANN001
    """Top-level names of every module a file imports (static: also code no test runs)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module if node.module.startswith("PySide6.") else node.module.split(".")[0])
    return found


def test_the_import_rules_hold_in_every_file() -> None:
    """The engine never imports the UI, Qt or torch; the app never imports torch or
    transformers; the state, its commands, the layouts and the session files never import widgets."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    broken = []
    for path in sorted((root / "simulator").rglob("*.py")):
        bad = {name for name in _imports(path) if name.split(".")[0] in ("ui", "PySide6", "pyqtgraph", "torch", "transformers", "shiboken6")}
        broken += [f"{path.relative_to(root)} imports {name}" for name in sorted(bad)]
    for path in sorted((root / "ui").rglob("*.py")):
        bad = {name for name in _imports(path) if name in ("torch", "transformers")}
        broken += [f"{path.relative_to(root)} imports {name}" for name in sorted(bad)]
    for name in ("state.py", "commands.py", "stage_layouts.py", "session_file.py"):
        bad = {mod for mod in _imports(root / "ui" / name) if mod in ("PySide6.QtWidgets", "pyqtgraph")}
        broken += [f"ui/{name} imports {mod}" for mod in sorted(bad)]
    assert not broken, "; ".join(broken)
