"""Students' answers to lesson questions, kept in one JSON file a teacher can collect.

The file lives in the app's data folder next to the recovery folder (``lesson-answers.json``).
Every answer is one record (student, lesson, step, question, response, right or wrong, the
engine's answer, time); a teacher running a lesson on one screen can also type a show-of-hands
count per question. Every write replaces the whole file atomically, so a crash never leaves half
a file; a damaged file is set aside (renamed) rather than overwritten silently.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.safe_write import write_atomic

FILE_NAME = "lesson-answers.json"
FORMAT_VERSION = 1


def answers_path(data_dir: Path) -> Path:
    """Where the answers file lives in a data folder."""
    return Path(data_dir) / FILE_NAME


@dataclass(frozen=True)
class QuestionSummary:
    """How a class answered one question: answers recorded in the app, plus hands counted."""

    key: str
    prompt: str
    right: int
    wrong: int
    hands_right: int
    hands_wrong: int
    students: tuple[tuple[str, str, bool], ...]  # (student, response, correct), latest per student

    def tally(self) -> list[tuple[str, int]]:
        """How many students gave each response (their latest), most common first."""
        counts: dict[str, int] = {}
        for _, response, _ in self.students:
            counts[response] = counts.get(response, 0) + 1
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


class AnswerBook:
    """The answers file: read once, appended to, written atomically after every change."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.problem = ""
        self._data: dict[str, Any] = {"version": FORMAT_VERSION, "answers": [], "hands": {}}
        self._read()

    def _read(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("answers"), list) or not isinstance(data.get("hands", {}), dict):
                raise ValueError("not an answers file")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            aside = self.path.with_name(f"{self.path.stem}.damaged-{int(time.time())}{self.path.suffix}")
            try:
                self.path.rename(aside)
                self.problem = f"The answers file could not be read ({exc}); it was set aside as {aside.name}."
            except OSError:
                self.problem = f"The answers file could not be read ({exc})."
            return
        data.setdefault("hands", {})
        self._data = data

    @property
    def answers(self) -> list[dict[str, Any]]:
        return list(self._data["answers"])

    def record(self, student: str, lesson_id: str, step: int, key: str, prompt: str, qtype: str,
               response: str, correct: bool, truth: str) -> None:
        """Add one answer and save the file."""
        self._data["answers"].append({
            "student": student, "lesson": lesson_id, "step": step, "question": key, "prompt": prompt,
            "type": qtype, "response": response, "correct": bool(correct), "engine": truth,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        })
        self.save()

    def set_hands(self, lesson_id: str, key: str, right: int, wrong: int) -> None:
        """The show-of-hands count of one question (replacing an earlier count)."""
        self._data["hands"].setdefault(lesson_id, {})[key] = {"right": int(right), "wrong": int(wrong)}
        self.save()

    def hands(self, lesson_id: str, key: str) -> tuple[int, int]:
        found = self._data["hands"].get(lesson_id, {}).get(key, {})
        return int(found.get("right", 0)), int(found.get("wrong", 0))

    def summary(self, lesson_id: str, questions: list[tuple[str, str]]) -> list[QuestionSummary]:
        """Per question (key, prompt) of a lesson: each student's latest answer, counted."""
        out = []
        for key, prompt in questions:
            latest: dict[str, tuple[str, bool]] = {}
            for row in self._data["answers"]:
                if row.get("lesson") == lesson_id and row.get("question") == key:
                    latest[str(row.get("student", ""))] = (str(row.get("response", "")), bool(row.get("correct")))
            right = sum(1 for _, ok in latest.values() if ok)
            hands = self.hands(lesson_id, key)
            students = tuple((name, resp, ok) for name, (resp, ok) in sorted(latest.items()))
            out.append(QuestionSummary(key, prompt, right, len(latest) - right, hands[0], hands[1], students))
        return out

    def save(self) -> None:
        """Write the whole file atomically (raises ModelFileError with a one-line reason)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self._data, indent=1, ensure_ascii=False).encode("utf-8")
        write_atomic(self.path, lambda handle: handle.write(text))
