"""Run a seeded list of steps on a window, checking everything after each one."""

from __future__ import annotations

import ctypes
import gc
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from tests.monkey.checks import CheckFailed, UndoHistory, check_controls, check_result_panel
from tests.monkey.dialogs import Dialogs
from tests.monkey.steps import Performer, Step, coverage, describe, draw_steps, timing_summary

STEPS_FILE = "monkey-steps.json"


class MonkeyFailure(AssertionError):
    """A step broke an invariant or an exception reached the event loop; says how to replay it."""

    def __init__(self, seed: int | None, index: int, steps: list[Step], reason: str, saved: Path | None) -> None:
        self.seed, self.index, self.steps, self.reason, self.saved = seed, index, steps, reason, saved
        done = steps[: index + 1]
        replay = [f"    python -m tests.monkey --replay {saved}"] if saved else []
        if seed is not None:
            replay.insert(0, f"    python -m tests.monkey --seed {seed} --steps {index + 1}")
        super().__init__(
            f"monkey (seed {seed}) failed at step {index}: {steps[index].to_json()}\n{reason}\n\n"
            "To replay it (offscreen, same checks):\n" + "\n".join(replay) + "\n\n"
            f"The {len(done)} steps performed (index, [name, args]):\n{describe(done)}"
        )


def rss_mb() -> float:
    """Resident memory of this process after a garbage collection, in MB (Linux)."""
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()
    gc.collect()
    try:  # hand freed heap pages back to the system so RSS counts what is really in use
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Monkey:
    """Drives ``window`` with the steps of ``seed`` (or a given list), files in ``folder``."""

    def __init__(self, window: Any, folder: Path, seed: int | None = None) -> None:
        self.window = window
        self.folder = Path(folder)
        self.seed = seed
        self.rss: dict[int, float] = {}
        self.report: dict[str, Any] = {}

    def run(
        self,
        steps: int | list[Step],
        memory_marks: tuple[int, ...] = (),
        progress: Callable[[int, Step], None] | None = None,
    ) -> dict[str, Any]:
        """Perform the steps, checking after each; raise :class:`MonkeyFailure` at the first problem."""
        if isinstance(steps, int):
            if self.seed is None:
                raise ValueError("a number of steps needs a seed")
            steps = draw_steps(self.seed, steps)
        errors: list[str] = []
        previous_hook = sys.excepthook

        def hook(kind, value, tb) -> None:  # noqa: ANN001
            errors.append("".join(traceback.format_exception(kind, value, tb)))

        dialogs = Dialogs()
        history = UndoHistory()
        sys.excepthook = hook
        dialogs.install()
        started = time.perf_counter()
        check_seconds = 0.0
        durations: list[tuple[float, int, str]] = []
        try:
            performer = Performer(self.window, self.folder, dialogs)
            history.check(self.window, "edit")
            for i, step in enumerate(steps):
                if progress is not None:
                    progress(i, step)
                try:
                    begin = time.perf_counter()
                    kind = performer.perform(step)
                    durations.append((time.perf_counter() - begin, i, step.name))
                    if errors:
                        raise CheckFailed("an exception reached the event loop:\n" + errors[0])
                    begin = time.perf_counter()
                    check_result_panel(self.window)
                    check_controls(self.window)
                    history.check(self.window, kind)
                    check_seconds += time.perf_counter() - begin
                except Exception as exc:  # noqa: BLE001 (every failure is reported with the replay)
                    reason = exc if isinstance(exc, CheckFailed) else "".join(traceback.format_exception(exc))
                    raise MonkeyFailure(self.seed, i, steps, str(reason), self._save(steps[: i + 1])) from exc
                if i + 1 in memory_marks:
                    self.rss[i + 1] = rss_mb()
            self.rss[len(steps)] = rss_mb()
        finally:
            sys.excepthook = previous_hook
            dialogs.uninstall()
        self.report = {
            "seed": self.seed,
            "steps": len(steps),
            "skipped": performer.skipped,
            "skipped_by_step": dict(sorted(performer.skipped_by_step.items(), key=lambda kv: -kv[1])),
            "performed": coverage(performer.performed),
            "seconds": round(time.perf_counter() - started, 1),
            "check_seconds": round(check_seconds, 1),
            "rss_mb": {k: round(v, 1) for k, v in self.rss.items()},
            "slowest_steps": [[i, name, round(1e3 * d)] for d, i, name in sorted(durations, reverse=True)[:12]],
            "by_step": timing_summary(performer.times),
        }
        return self.report

    def _save(self, steps: list[Step]) -> Path | None:
        try:
            return save_steps(self.folder / STEPS_FILE, self.seed, steps)
        except OSError:
            return None


def save_steps(path: str | Path, seed: int | None, steps: list[Step]) -> Path:
    """Write ``steps`` as a file that ``python -m tests.monkey --replay`` (and :func:`load_steps`) reads."""
    path = Path(path)
    path.write_text(json.dumps({"seed": seed, "steps": [[s.name, s.args] for s in steps]}, indent=0), encoding="utf-8")
    return path


def load_steps(path: str | Path) -> tuple[int | None, list[Step]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return data.get("seed"), [Step.from_json(item) for item in data["steps"]]
