"""Atomic saves respect their target: links are followed, special files refused, modes kept."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from simulator.errors import ModelFileError
from simulator.model_file import read_npz, write_npz_atomic
from simulator.safe_write import write_atomic

ARRAYS = {"x": np.arange(3, dtype=np.float32)}


def test_a_symlink_stays_a_link_and_its_target_is_updated(tmp_path: Path) -> None:
    real = tmp_path / "real.npz"
    write_npz_atomic(real, ARRAYS, {"n": 1})
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    write_npz_atomic(link, ARRAYS, {"n": 2})
    assert link.is_symlink()
    assert read_npz(real)[1] == {"n": 2}


def test_an_existing_file_keeps_its_permission_bits(tmp_path: Path) -> None:
    target = tmp_path / "shared.npz"
    write_npz_atomic(target, ARRAYS, {"n": 1})
    target.chmod(0o664)
    write_npz_atomic(target, ARRAYS, {"n": 2})
    assert stat.S_IMODE(target.stat().st_mode) == 0o664


def test_a_new_file_gets_the_users_normal_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_npz_atomic(tmp_path / "new.npz", ARRAYS, {})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o644


def test_a_fifo_target_is_refused_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="FIFO"):
        write_npz_atomic(fifo, ARRAYS, {})
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe.npz"]


def test_a_link_to_a_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "link.npz").symlink_to(fifo)
    with pytest.raises(ModelFileError, match="FIFO"):
        write_npz_atomic(tmp_path / "link.npz", ARRAYS, {})
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_an_empty_or_over_long_name_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="file name is empty"):
        write_npz_atomic("", ARRAYS, {})
    with pytest.raises(ModelFileError, match="cannot save") as refused:
        write_npz_atomic(tmp_path / ("x" * 5000 + ".npz"), ARRAYS, {})
    assert "\n" not in str(refused.value)


def test_a_failing_writer_keeps_the_previous_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "kept.bin"
    target.write_bytes(b"old")

    def fail(handle) -> None:  # noqa: ANN001
        handle.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(ModelFileError, match="No space left"):
        write_atomic(target, fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.bin"]


def test_a_lone_surrogate_is_saved_and_read_back_losslessly(tmp_path: Path) -> None:
    write_npz_atomic(tmp_path / "s.npz", ARRAYS, {"text": "a\ud800b"})
    assert read_npz(tmp_path / "s.npz")[1]["text"] == "a\ud800b"


def _with_meta(path: Path, raw: bytes) -> None:
    np.savez(path, **{"meta.json": np.frombuffer(raw, np.uint8)})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(b"[" * 100_000 + b"]" * 100_000, "nested too deeply"), (b'{"n": ' + b"9" * 5000 + b"}", "damaged")],
)
def test_hostile_json_is_one_line(tmp_path: Path, raw: bytes, expected: str) -> None:
    _with_meta(tmp_path / "m.npz", raw)
    with pytest.raises(ModelFileError, match=expected):
        read_npz(tmp_path / "m.npz")


def test_opening_a_fifo_does_not_block(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.npz")
    with pytest.raises(ModelFileError, match="not a regular file"):
        read_npz(tmp_path / "pipe.npz")
