"""``python -m simulator`` in a subprocess: listings, trace files, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import simulator


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def assert_clean_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Non-zero exit, exactly one line on stderr, no traceback, nothing half-written to stdout."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), lines[0]
    return lines[0]


def test_presets_lists_toy_with_a_description() -> None:
    result = run("presets")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    toy = [line for line in lines if line.split()[0] == "toy"]
    assert len(toy) == 1 and "random" in toy[0].lower()
    assert {line.split()[0] for line in lines} == set(simulator.preset_names())


def test_stages_lists_every_stage_with_its_shape_in_order() -> None:
    result = run("stages", "--preset", "toy", "--text", "the cat walks by the bank")
    assert result.returncode == 0, result.stderr
    model = simulator.load("toy")
    rows = [line.split(None, 1) for line in result.stdout.splitlines()]
    assert [row[0] for row in rows] == model.stage_ids()
    shapes = dict(rows)
    assert shapes["blocks.0.attn.pattern"] == "[head 2 × query_pos 6 × key_pos 6]"
    assert shapes["logits"] == f"[pos 6 × vocab {model.config.vocab_size}]"
    assert shapes["tokens"] == "[pos 6]"


def test_stages_of_a_saved_model(tmp_path: Path) -> None:
    path = tmp_path / "toy.npz"
    simulator.save_model(simulator.load("toy"), path)
    result = run("stages", "--model", str(path))
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == simulator.load("toy").stage_ids()


def read_trace(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(arrays.pop("meta.json").tobytes().decode("utf-8"))
    return arrays, meta


def test_trace_text_writes_every_stage_equal_to_the_engine(tmp_path: Path) -> None:
    out = tmp_path / "trace.npz"
    text = "the cat walks by the bank"
    result = run("trace", "--preset", "toy", "--text", text, "--temperature", "0.5", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    arrays, meta = read_trace(out)
    model = simulator.load("toy")
    trace = model.trace(text, temperature=0.5)
    assert set(arrays) == set(model.stage_ids()) | {"token_strings"}
    for stage_id in model.stage_ids():
        assert arrays[stage_id].dtype == trace[stage_id].dtype, stage_id
        np.testing.assert_array_equal(arrays[stage_id], trace[stage_id], err_msg=stage_id)
    assert tuple(arrays["token_strings"].tolist()) == trace.tokens
    assert meta["text"] == text
    assert not np.array_equal(arrays["probs"], model.trace(text)["probs"])  # the temperature was applied


def test_trace_ids_from_a_saved_model(tmp_path: Path) -> None:
    model = simulator.load("toy")
    model.set_param("blocks.0.attn.W_Q", 2.0, index=(0, 1, 2))
    path = tmp_path / "edited.npz"
    simulator.save_model(model, path)
    out = tmp_path / "trace.npz"
    result = run("trace", "--model", str(path), "--ids", "5, 16,23", "--out", str(out))
    assert result.returncode == 0, result.stderr
    arrays, _ = read_trace(out)
    trace = model.trace([5, 16, 23])
    for stage_id in model.stage_ids():
        np.testing.assert_array_equal(arrays[stage_id], trace[stage_id], err_msg=stage_id)
    assert not np.array_equal(arrays["blocks.0.attn.q"], simulator.load("toy").trace([5, 16, 23])["blocks.0.attn.q"])


@pytest.fixture
def corrupt_file(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    return path


BAD_ARGS = [
    pytest.param(["stages", "--preset", "nonexistent"], ("unknown preset", "nonexistent", "toy"), id="unknown-preset"),
    pytest.param(["trace", "--preset", "nonexistent", "--text", "a", "--out", "{out}"], ("unknown preset",), id="trace-unknown-preset"),
    pytest.param(["stages", "--model", "{tmp}/missing.npz"], ("missing.npz",), id="missing-file"),
    pytest.param(["trace", "--model", "{tmp}/missing.npz", "--text", "a", "--out", "{out}"], ("missing.npz",), id="trace-missing-file"),
    pytest.param(["stages", "--model", "{corrupt}"], ("corrupt.npz",), id="corrupt-file"),
    pytest.param(["trace", "--model", "{corrupt}", "--ids", "1", "--out", "{out}"], ("corrupt.npz",), id="trace-corrupt-file"),
    pytest.param(["trace", "--text", "", "--out", "{out}"], ("empty",), id="empty-text"),
    pytest.param(["trace", "--text", "   ", "--out", "{out}"], ("empty",), id="blank-text"),
    pytest.param(["trace", "--preset", "toy", "--text", " ".join(["cat"] * 33), "--out", "{out}"], ("33", "32"), id="overlong-text"),
    pytest.param(["stages", "--preset", "toy", "--text", ""], ("empty",), id="stages-empty-text"),
    pytest.param(["trace", "--ids", "1,x", "--out", "{out}"], ("whole numbers", "1,x"), id="ids-not-numbers"),
    pytest.param(["trace", "--ids", "", "--out", "{out}"], ("at least one",), id="ids-empty"),
    pytest.param(["trace", "--ids", " , ", "--out", "{out}"], ("at least one",), id="ids-only-commas"),
    pytest.param(["trace", "--ids", "1.5", "--out", "{out}"], ("whole numbers",), id="ids-fraction"),
    pytest.param(["trace", "--preset", "toy", "--ids", "1,400", "--out", "{out}"], ("400", "outside the vocabulary"), id="ids-too-big"),
    pytest.param(["trace", "--ids", "-1", "--out", "{out}"], ("-1", "outside the vocabulary"), id="ids-negative"),
    pytest.param(["trace", "--preset", "toy", "--ids", ",".join(["1"] * 33), "--out", "{out}"], ("32",), id="ids-too-many"),
    pytest.param(["trace", "--ids", "1", "--temperature", "abc", "--out", "{out}"], ("temperature",), id="temperature-text"),
    pytest.param(["trace", "--ids", "1", "--temperature", "0", "--out", "{out}"], ("temperature",), id="temperature-zero"),
    pytest.param(["trace", "--ids", "1", "--temperature", "-2", "--out", "{out}"], ("temperature",), id="temperature-negative"),
    pytest.param(["trace", "--ids", "1", "--temperature", "nan", "--out", "{out}"], ("temperature",), id="temperature-nan"),
    pytest.param(["trace", "--ids", "1", "--temperature", "inf", "--out", "{out}"], ("temperature",), id="temperature-inf"),
    pytest.param(["trace", "--ids", "1", "--out", "{tmp}/absent/trace.npz"], ("absent",), id="out-folder-missing"),
    pytest.param(["trace", "--ids", "1"], ("--out",), id="out-missing"),
    pytest.param(["trace", "--out", "{out}"], ("--text", "--ids"), id="no-input"),
    pytest.param(["trace", "--text", "a", "--ids", "1", "--out", "{out}"], ("not allowed",), id="text-and-ids"),
    pytest.param(["stages", "--preset", "toy", "--model", "x.npz"], ("not allowed",), id="preset-and-model"),
    pytest.param(["launch"], ("invalid choice",), id="unknown-command"),
    pytest.param([], ("command",), id="no-command"),
]


@pytest.mark.parametrize(("argv", "expected"), BAD_ARGS)
def test_bad_input_fails_with_one_line(tmp_path: Path, corrupt_file: Path, argv: list[str], expected: tuple[str, ...]) -> None:
    out = tmp_path / "trace.npz"
    filled = [a.format(tmp=tmp_path, out=out, corrupt=corrupt_file) for a in argv]
    result = run(*filled, cwd=tmp_path)
    assert_clean_failure(result, *expected)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


@pytest.mark.parametrize("given", [".", "./", ".."])
def test_a_folder_given_as_dot_is_named_in_the_message(given: str, tmp_path: Path) -> None:
    """``--model .`` names the folder (``Path('.').name`` is empty) instead of printing nothing."""
    folder = tmp_path / "lesson-folder"
    (folder / "inner").mkdir(parents=True)
    cwd = folder / "inner" if given == ".." else folder
    line = assert_clean_failure(run("stages", "--model", given, cwd=cwd), "has no config.json")
    assert line.startswith("error: lesson-folder is not a model folder"), line


def test_an_empty_model_name_is_refused_not_taken_for_the_default() -> None:
    assert_clean_failure(run("stages", "--model", ""), "the file name is empty")
