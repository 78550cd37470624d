"""``python -m simulator``: list presets, stages and lessons, check a lesson, or write a trace to a file.

Bad input exits with status 2 and one line on stderr, never a traceback. ``lessons check`` exits
with status 1 and one line per problem of the lesson.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn, Sequence

import numpy as np

from simulator import load
from simulator.errors import SimulatorError
from simulator.model import Model
from simulator.model_file import write_npz_atomic
from simulator.presets import default_preset, list_presets


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, status 2
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m simulator", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("presets", help="list the built-in models")
    lessons = sub.add_parser("lessons", help="list the built-in lessons, or check one")
    lesson_sub = lessons.add_subparsers(dest="lesson_command", parser_class=_Parser)
    check = lesson_sub.add_parser("check", help="check a lesson: prints ok, or one line per problem (exit 1)")
    check.add_argument("lesson", metavar="ID_OR_FILE", help="a built-in lesson id or a lesson file")
    for name, text in (("stages", "list stage ids with their shapes"), ("trace", "write every stage to a .npz")):
        cmd = sub.add_parser(name, help=text)
        source = cmd.add_mutually_exclusive_group()
        source.add_argument("--preset", help="a preset name (default: the app's default preset)")
        source.add_argument("--model", help="a saved .npz model or a checkpoint folder")
        if name == "stages":
            cmd.add_argument("--text", help="sentence used to show real shapes (default: the preset's first suggestion)")
        else:
            given = cmd.add_mutually_exclusive_group(required=True)
            given.add_argument("--text", help="the sentence to run")
            given.add_argument("--ids", help="comma-separated token ids, e.g. 1,2,3")
            cmd.add_argument("--temperature", type=float, default=1.0)
            cmd.add_argument("--out", required=True, help="output .npz file")
    return parser


def _model(args: argparse.Namespace) -> Model:
    if args.model is not None:  # an empty --model is a mistake, not a request for the default
        return load(args.model)
    return load(args.preset or default_preset())


def _parse_ids(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise SimulatorError("--ids needs at least one token id, e.g. --ids 1,2,3")
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise SimulatorError(f"--ids must be comma-separated whole numbers, got {text!r}") from None


def _default_text(model: Model) -> str:
    """The first suggested sentence the model can read (a short context may fit none), else its
    first vocabulary piece."""
    for sentence in model.info.suggested:
        try:
            model.encode(sentence)
            return sentence
        except SimulatorError:
            continue
    return model.token_text(0)


def _lessons(args: argparse.Namespace) -> int:
    """List the built-in lessons, or check one (status 1 and one line per problem)."""
    from simulator import lessons

    if args.lesson_command is None:
        for lesson in lessons.builtin_lessons():
            print(lessons.summary_line(lesson))
        return 0
    try:
        lesson = lessons.load_lesson(args.lesson)
    except lessons.LessonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    problems = lessons.check(lesson)
    name = lesson.path.name if lesson.path is not None else args.lesson
    for problem in problems:
        where = f"{name}:{problem.line}" if problem.line else name
        print(f"{where}: {problem.message}", file=sys.stderr)
    if problems:
        return 1
    print("ok")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "presets":
            for info in list_presets():
                print(f"{info.name:14} {info.title}: {info.description.split('. ')[0].rstrip('.')}.")
            return 0
        if args.command == "lessons":
            return _lessons(args)
        model = _model(args)
        if args.command == "stages":
            text = args.text
            if text is None:  # an explicitly empty --text is an error, not a request for the default
                text = _default_text(model)
            trace = model.trace(text)
            for sid in model.stage_ids():
                print(f"{sid:32} {trace.stage(sid).shape_text}")
            return 0
        trace = model.trace(_parse_ids(args.ids) if args.ids is not None else args.text, temperature=args.temperature)
        arrays = {sid: np.asarray(trace[sid]) for sid in model.stage_ids()}
        arrays["token_strings"] = np.asarray(trace.tokens, dtype=str)
        write_npz_atomic(args.out, arrays, {"schema": "transformer-step-sim/trace", "version": 1, "text": trace.text})
        print(f"wrote {len(model.stage_ids())} stages for {len(trace.tokens)} tokens to {args.out}")
        return 0
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except SimulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def main() -> None:
    try:
        code = run()
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`
        code = 0
        sys.stdout = None
    sys.exit(code)
