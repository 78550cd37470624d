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
