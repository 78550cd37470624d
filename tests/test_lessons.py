"""Lessons (``simulator/lessons.py``): the built-in lessons are sound, every question is answered
by the engine and graded right and wrong as scripted, every answer follows the model when it is
edited, and broken lesson files are reported with line numbers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulator
from simulator import lessons as L
from simulator.presets import _handbuilt

BUILTIN = L.builtin_lessons()
QUESTIONS = [pytest.param(lesson, q, id=f"{lesson.id}:{q.line}") for lesson in BUILTIN for q in lesson.questions()]
CHALLENGES = [p for p in QUESTIONS if p.values[1].type == "make-it-happen"]
ASKED = [p for p in QUESTIONS if p.values[1].type != "make-it-happen"]


def model_of(lesson: L.Lesson, question: L.Question) -> simulator.Model:
    return L.model_for(question.view, lesson.base_dir)


# -- the built-in lessons ----------------------------------------------------------------------------
def test_there_are_enough_builtin_lessons_with_unique_ids() -> None:
    ids = [lesson.id for lesson in BUILTIN]
    assert len(ids) >= 6 and len(set(ids)) == len(ids)
    assert len(CHALLENGES) >= 1


@pytest.mark.parametrize("lesson", BUILTIN, ids=lambda lesson: lesson.id)
def test_every_builtin_lesson_passes_its_checks(lesson: L.Lesson) -> None:
    assert L.check(lesson) == []
    assert 5 <= len(lesson.steps) <= 15
    assert lesson.title and lesson.concepts and all(step.text or step.question for step in lesson.steps)


# -- answering and grading ---------------------------------------------------------------------------
def scripted(question: L.Question, truth: L.Answer, model: simulator.Model) -> tuple[object, object]:
    """A right and a wrong response for a question, made from the engine's answer."""
    if question.type == "pick-cell":
        m = L._matrix(*L._apply_changes(question.get("after"), question.view, model))
        right = min(truth.value)
        wrong = next((r, c) for r in range(m.data.shape[0]) for c in range(m.data.shape[1]) if (r, c) not in truth.value)
        return right, wrong
    if question.type == "choice":
        options = [o.strip() for o in question.get("options").split("|")]
        return min(truth.value), next(o for o in options if o not in truth.value)
    if question.type == "number":
        tolerance = L._tolerance(question.get("tolerance"), truth.value)
        return truth.value, truth.value + 2 * tolerance + 1
    words = ("up", "down", "same") if question.get("after") else ("positive", "negative", "zero")
    return truth.value, next(w for w in words if w != truth.value)


@pytest.mark.parametrize(("lesson", "question"), ASKED)
def test_right_and_wrong_answers_grade_as_scripted(lesson: L.Lesson, question: L.Question) -> None:
    model = model_of(lesson, question)
    truth = L.answer(question, model)
    right, wrong = scripted(question, truth, model)
    good = L.grade(question, right, model)
    bad = L.grade(question, wrong, model)
    assert good.correct and not bad.correct
    assert good.truth == truth and truth.text in bad.feedback  # the reveal shows the truth beside the guess


def _edits(model: simulator.Model, question: L.Question) -> Iterator[tuple[str, simulator.Model]]:
    """Edited copies of the model: each parameter the question's stage depends on, negated,
    scaled with noise, or replaced by seeded random values."""
    sid = L.stage_id(question.view, model)
    rng = np.random.default_rng(0)
    for name in model.params:
        if sid not in model.downstream(name):
            continue
        base = np.asarray(model.params[name])
        spread = float(np.abs(base).max()) or 1.0
        for new in (-base, base * 3 + rng.normal(0, spread, base.shape),
                    rng.normal(0, spread, base.shape), rng.normal(0, 3 * spread, base.shape)):
            edited = L._copy(model)
            edited.set_param(name, new)
            yield name, edited


def mask_only(question: L.Question) -> bool:
    """Where the mask puts −∞, and where the first word (which sees only itself) looks, depend on
    the causal switch, not on any weight."""
    return question.get("compute") in ("masked", "argmax row 0")


@pytest.mark.parametrize(("lesson", "question"), ASKED)
def test_every_answer_changes_when_the_model_is_edited(lesson: L.Lesson, question: L.Question) -> None:
    model = model_of(lesson, question)
    before = L.answer(question, model)
    if mask_only(question):
        flipped = replace(question, view=replace(question.view, causal=not question.view.causal))
        assert L.answer(flipped, model).value != before.value
        return
    for _name, edited in _edits(model, question):
        if L.answer(question, edited).value != before.value:
            assert L.answer(question, model) == before  # the edit went to a copy
            return
    pytest.fail(f"no edit of the weights changed the answer of {lesson.id}, line {question.line} ({before.text})")


def test_a_question_follows_a_weight_edit_made_by_hand() -> None:
    lesson = L.load_lesson("queries-and-keys")
    question = next(q for q in lesson.questions() if q.type == "pick-cell" and "blocks.0.attn.scores" in q.view.stage)
    model = simulator.load("fluffy")
    assert L.answer(question, model).text == "(creature, blue)"
    model.set_param("blocks.0.attn.W_K", 20.0, index=(0, _handbuilt.DIM["texture-fluffy"], 0))
    assert L.answer(question, model).text == "(creature, fluffy)"
    assert L.grade(question, ("creature", "fluffy"), model).correct
    assert not L.grade(question, ("creature", "blue"), model).correct


def test_an_answer_accepts_a_trace_and_uses_its_model() -> None:
    lesson = L.load_lesson("scores-and-softmax")
    question = lesson.questions()[0]
    model = simulator.load("fluffy")
    assert L.answer(question, model.trace("a cat")) == L.answer(question, model)


# -- make it happen ----------------------------------------------------------------------------------
def solve_blue_over_fluffy(model: simulator.Model) -> simulator.Model:
    """The challenge's scripted solution: head 2's key dimension 0 answers for blue, not fluffy."""
    solved = L._copy(model)
    w_k = "blocks.0.attn.W_K"
    solved.set_param(w_k, 8.0, index=(2, _handbuilt.DIM["colour-blue"], 0))
    solved.set_param(w_k, 0.0, index=(2, _handbuilt.DIM["texture-fluffy"], 0))
    return solved


def solve_next_word(model: simulator.Model) -> simulator.Model:
    """Fish's column of W_U rewards a verb having happened more than the places' columns do."""
    solved = L._copy(model)
    vocab = model.axis_labels("vocab", None, model.config.vocab_size)
    solved.set_param("unembed.W_U", 1.5, index=(_handbuilt.DIM["after-verb"], vocab.index("fish")))
    return solved


SOLUTIONS = {"challenge-blue-over-fluffy": solve_blue_over_fluffy, "challenge-next-word": solve_next_word}


def test_a_tie_does_not_make_it_happen() -> None:
    lesson = L.load_lesson("challenge-next-word")
    question = lesson.questions()[-1]
    model = simulator.load("fluffy")
    vocab = model.axis_labels("vocab", None, model.config.vocab_size)
    tied = L._copy(model)
    tied.set_param("unembed.W_U", 1.0, index=(_handbuilt.DIM["after-verb"], vocab.index("fish")))
    tied.set_param("unembed.W_U", 0.5, index=(_handbuilt.DIM["water"], vocab.index("fish")))
    assert not L.grade(question, tied, model).correct


@pytest.mark.parametrize(("lesson", "question"), CHALLENGES)
def test_a_challenge_passes_with_its_solution_and_fails_without(lesson: L.Lesson, question: L.Question) -> None:
    model = model_of(lesson, question)
    before = L.answer(question, model)
    assert not any(ok for _, ok, _ in before.value)
    solved = SOLUTIONS[lesson.id](model)
    result = L.grade(question, solved, model)
    assert result.correct, result.feedback
    assert L.answer(question, solved).value != before.value
    assert not L.grade(question, model, model).correct
    phrases = {p for p, _, _ in result.truth.value}
    assert not phrases & {s.view.sentence for s in lesson.steps}  # graded on phrases the student did not see


def test_a_challenge_refuses_edits_outside_the_allowed_weights() -> None:
    lesson = L.load_lesson("challenge-blue-over-fluffy")
    question = lesson.questions()[-1]
    model = simulator.load("fluffy")
    cheat = solve_blue_over_fluffy(model)
    cheat.set_param("embed.W_E", 1.0, index=(0, 0))
    result = L.grade(question, cheat, model)
    assert not result.correct and "embed.W_E" in result.feedback


# -- broken lesson files -----------------------------------------------------------------------------
GOOD = """---
id: tiny
title: Tiny
concepts: attention
preset: fluffy
---

## First
sentence: a fluffy blue creature
stage: blocks.0.attn.pattern
head: 0

Look.

```question
type: pick-cell
prompt: Where does the creature look?
compute: argmax row creature
```
"""


def problems_of(text: str) -> list[str]:
    return [str(p) for p in L.check(L.parse(text))]


def test_a_small_good_lesson_has_no_problems() -> None:
    assert problems_of(GOOD) == []


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("stage: blocks.0.attn.pattern", "stage: blocks.0.attn.patern",
     "line 10: unknown stage 'blocks.0.attn.patern' (did you mean 'blocks.0.attn.pattern'?)"),
    ("stage: blocks.0.attn.pattern", "stage: blocks.5.attn.pattern", "line 10: layer 5 is outside the model (layers 0..1)"),
    ("type: pick-cell", "type: pick-a-cell", "line 16: unknown question type 'pick-a-cell' (did you mean 'pick-cell'?)"),
    ("compute: argmax row creature\n", "", "line 15: a pick-cell question needs 'compute:'"),
    ("title: Tiny\n", "", "line 1: the header needs 'title:'"),
    ("compute: argmax row creature", "compute: argmax row 7",
     "line 18: row 7 is outside the matrix: blocks.0.attn.pattern head 0 has 4 rows (0..3)"),
    ("compute: argmax row creature", "compute: argmax row dog", "line 18: 'dog' is not a row of blocks.0.attn.pattern head 0 (rows: a, fluffy, blue, creature)"),
    ("head: 0", "head: 3", "line 11: head 3 is outside the model (heads 0..2)"),
    ("head: 0", "head: 0\nhighlight: cell creature 9",
     "line 12: column 9 is outside the matrix: blocks.0.attn.pattern head 0 has 4 columns (0..3)"),
    ("compute: argmax row creature", "answer: blue", "line 18: a question names what to compute ('compute: ...'), never its answer"),
    ("head: 0", "head: 0\nzoom: big", "line 12: zoom must be a positive number, got 'big'"),
    ("head: 0", "head: 0\ncasual: on", "line 12: unknown setting 'casual' (did you mean 'causal'?)"),
    ("head: 0", "head: 0\nflavour: on", "line 12: unknown setting 'flavour' (one of: preset, model, sentence, stage,"),
    ("head: 0", "head: 0\nlock: stage, weight", "line 12: unknown control 'weight' (did you mean 'weights'?)"),
    ("sentence: a fluffy blue creature", "sentence: a fluffy purple creature",
     "line 9: the sentence 'a fluffy purple creature' has words this model does not know: 'purple'"),
    ("preset: fluffy", "preset: fluffi", "line 5: unknown preset 'fluffi'"),
    ("```\n", "", "line 15: the question block is not closed: add a line '```'"),
    ("preset: fluffy\n", "", "line 1: no model: give 'preset: NAME' or 'model: FILE'"),
    ("sentence: a fluffy blue creature\n", "", "line 8: no sentence: the first step must set 'sentence:'"),
    ("type: pick-cell", "type: pick-cell\nwhy: because", "line 17: unknown question field 'why'"),
    ("compute: argmax row creature\n```\n", ("compute: argmax row creature\n```\n\n```question\ntype: sign\n"
                                             "prompt: Up?\ncompute: cell creature blue\n```\n"),
     "line 21: a step asks at most one question"),
    ("compute: argmax row creature", "compute: argmax row creature\nafter: blocks.0.attn.W_Q[0, noun, 9] = 1",
     "line 19: index 9 is outside blocks.0.attn.W_Q (that axis has 8 entries: 0..7)"),
    ("compute: argmax row creature", "compute: argmax row creature\nafter: embed.W_E[water, fish] = 1",
     "line 19: index 'fish' of embed.W_E: give a number, a dimension name (d_model axes) or a word"),
    ("compute: argmax row creature", "compute: argmax row creature\nafter: causal sideways",
     "line 19: cannot apply 'causal sideways'"),
])
def test_a_broken_lesson_names_the_problem_and_its_line(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    found = problems_of(GOOD.replace(old, new, 1))
    assert any(p.startswith(expected) for p in found), found


def test_a_statistic_of_only_minus_infinity_is_an_error_not_nan() -> None:
    matrix = L._Matrix(np.array([[-np.inf, 1.0]]), ("a",), ("x", "y"), "m")
    assert L._value("max column y", matrix)[0] == 1.0
    with pytest.raises(L.LessonError, match="no finite numbers"):
        L._value("std column x", matrix)


def test_a_file_without_steps_or_header_says_so() -> None:
    found = problems_of("just some text\n")
    assert found[0].startswith("line 1: a lesson starts with a header")
    assert any("no steps" in p for p in found)


def test_a_choice_whose_computed_answer_is_not_an_option_is_a_problem() -> None:
    text = GOOD.replace("type: pick-cell", "type: choice\noptions: a | fluffy")
    assert problems_of(text) == ["line 17: the engine's answer (blue) is not among the options"]


def test_a_challenge_already_met_is_a_problem() -> None:
    text = GOOD.replace("type: pick-cell", "type: make-it-happen\ngoal: attends-more last blue fluffy\nphrases: a fluffy blue cat")
    assert any("the goal already holds before any edit" in p for p in problems_of(text.replace("compute: argmax row creature\n", "")))


def test_a_challenge_that_locks_the_weights_is_a_problem() -> None:
    text = PREVIOUS_TOKEN.replace("head: 1", "head: 1\nlock: weights")
    assert problems_of(text) == ["line 12: a make-it-happen step must leave the weights editable (no lock or hide of weights)"]


def test_steps_inherit_the_view_of_the_step_before() -> None:
    lesson = L.load_lesson("causal-mask")
    first, *_, last = lesson.steps
    assert last.view.sentence == first.view.sentence and last.view.head == 0
    assert lesson.steps[2].switch("columns") is True and lesson.steps[3].switch("columns") is False


# -- the command line --------------------------------------------------------------------------------
def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True, timeout=120,
                          check=False)


def test_cli_lists_the_builtin_lessons_one_a_line() -> None:
    result = run("lessons")
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines == [f"{lesson.id}  {lesson.title} — {', '.join(lesson.concepts)}" for lesson in BUILTIN]
    assert "queries-and-keys  Queries and keys — query, key" in result.stdout


def test_cli_checks_a_builtin_lesson_and_a_file(tmp_path: Path) -> None:
    result = run("lessons", "check", "causal-mask")
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")
    good = tmp_path / "good.md"
    good.write_text(GOOD)
    assert run("lessons", "check", str(good)).stdout == "ok\n"


def test_cli_check_of_a_broken_file_prints_one_line_per_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text(GOOD.replace("blocks.0.attn.pattern", "blocks.0.attn.patern").replace("pick-cell", "pick"))
    result = run("lessons", "check", str(bad))
    assert result.returncode == 1 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "bad.md:10: unknown stage 'blocks.0.attn.patern' (did you mean 'blocks.0.attn.pattern'?)",
        "bad.md:16: unknown question type 'pick' (did you mean 'pick-cell'?)",
    ]


def test_cli_check_of_an_unknown_lesson() -> None:
    result = run("lessons", "check", "queries-and-kees")
    assert result.returncode == 1
    assert result.stderr == "error: no built-in lesson or file named 'queries-and-kees' (did you mean 'queries-and-keys'?)\n"


def test_the_example_in_the_format_document_checks_clean() -> None:
    doc = (Path(__file__).resolve().parent.parent / "resources" / "docs" / "lesson-format.md").read_text()
    example = doc.split("````markdown\n", 1)[1].split("````", 1)[0]
    lesson = L.parse(example)
    assert L.check(lesson) == []
    assert sorted(q.type for q in lesson.questions()) == sorted(L.QUESTION_TYPES)


PREVIOUS_TOKEN = GOOD.replace("head: 0", "head: 1").replace(
    "type: pick-cell\nprompt: Where does the creature look?\ncompute: argmax row creature",
    "type: make-it-happen\nprompt: Make head 1 look one word back.\ngoal: previous-token\n"
    "phrases: the cat walks by the river | a dog sits near the green garden\nedit: blocks.0.attn.W_Q, blocks.0.attn.W_K")


def test_the_previous_token_grader_passes_a_head_built_from_the_clock() -> None:
    lesson = L.parse(PREVIOUS_TOKEN)
    assert L.check(lesson) == []
    question = lesson.questions()[0]
    model = simulator.load("fluffy")
    solved = L._copy(model)
    head, turn, strength = 1, _handbuilt.CLOCK_STEP, 3000.0
    x, y = _handbuilt.DIM["clock-x"], _handbuilt.DIM["clock-y"]
    for name in ("blocks.0.attn.W_Q", "blocks.0.attn.W_K"):
        weights = np.array(solved.params[name])
        weights[head] = 0
        solved.set_param(name, weights)
    # the query is the word's clock hand turned back by one step; the key is the hand itself
    for index, value in (((head, x, 0), np.cos(turn)), ((head, y, 0), np.sin(turn)),
                         ((head, x, 1), -np.sin(turn)), ((head, y, 1), np.cos(turn))):
        solved.set_param("blocks.0.attn.W_Q", strength * value, index=index)
    solved.set_param("blocks.0.attn.W_K", 1.0, index=(head, x, 0))
    solved.set_param("blocks.0.attn.W_K", 1.0, index=(head, y, 1))
    assert not L.grade(question, model, model).correct
    result = L.grade(question, solved, model)
    assert result.correct, result.feedback


def test_a_lesson_can_name_a_model_file_next_to_it(tmp_path: Path) -> None:
    simulator.save_model(simulator.load("fluffy"), tmp_path / "mine.npz")
    path = tmp_path / "mine.md"
    path.write_text(GOOD.replace("preset: fluffy", "model: mine.npz"))
    assert L.check(L.read_lesson(path)) == []
    path.write_text(GOOD.replace("preset: fluffy", "model: missing.npz"))
    assert [p.line for p in L.check(L.read_lesson(path))] == [5]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_mangled_lesson_gives_problems_never_a_traceback(data: st.DataObject) -> None:
    lines = PREVIOUS_TOKEN.splitlines() + GOOD.splitlines()[6:]
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "repeat", "cut", "word"]))
        if action == "drop":
            del lines[i]
        elif action == "repeat":
            lines.insert(i, lines[i])
        elif action == "cut":
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
        else:
            lines[i] += " " + data.draw(st.sampled_from(["9", "'", "|", "among", "row", "-1", "∞", "creature", ";"]))
        if not lines:
            lines = [""]
    problems = L.check(L.parse("\n".join(lines)))
    assert all(isinstance(p, L.Problem) and p.line >= 0 and p.message for p in problems)


@pytest.mark.parametrize("response", ["", "zzz", (99, 99), ("creature",), None, "nan", float("inf"), -7])
def test_a_junk_response_is_wrong_or_a_clear_error(response: object) -> None:
    for lesson, question in (p.values for p in ASKED):
        model = model_of(lesson, question)
        try:
            result = L.grade(question, response, model)
        except L.LessonError as exc:
            assert str(exc)
        else:
            assert not result.correct or question.type == "choice" and str(response) in result.truth.value
