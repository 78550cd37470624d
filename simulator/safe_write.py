"""Atomic saves that respect the target: one helper for every file the app and the CLI write.

The new content goes to a temporary file in the target's folder, is flushed to disk and only
then renamed over the target, so a failed or interrupted save leaves the previous file intact.
Before that, the target is checked: a symbolic link is followed (its target file is updated and
the link stays a link); a target that exists but is not a regular file (a folder, FIFO, device
or socket) is refused, so a save can never replace ``/dev/null`` or block on a pipe. An existing
file keeps its permission bits; a new file gets the user's normal mode (0o666 minus the umask).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from simulator.errors import ModelFileError
from simulator.paths import check_path_name, shown

_KINDS = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "is a FIFO (named pipe), not a regular file"),
    (stat.S_ISCHR, "is a device, not a regular file"),
    (stat.S_ISBLK, "is a device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def resolve_target(path: str | os.PathLike[str]) -> tuple[Path, int]:
    """The file a save to ``path`` must replace (symlinks followed) and the mode to give it.

    Raises :class:`ModelFileError` with one line when ``path`` cannot be a save target.
    """
    if not str(path):
        raise ModelFileError("cannot save: the file name is empty")
    check_path_name(path, "cannot save")
    given = shown(path)
    try:
        target = Path(os.path.realpath(path))
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"cannot save to {given}: {exc}") from exc
    folder = target.parent
    try:
        info = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        info = None
    except OSError as exc:
        raise ModelFileError(f"cannot save to {given}: {_why(exc)}") from exc
    if info is None:
        if not folder.is_dir():
            raise ModelFileError(f"cannot save to {given}: the folder {shown(folder)} does not exist")
        mask = os.umask(0)
        os.umask(mask)
        return target, 0o666 & ~mask
    for test, text in _KINDS:
        if test(info.st_mode):
            raise ModelFileError(f"cannot save to {given}: it {text}")
    if not stat.S_ISREG(info.st_mode):
        raise ModelFileError(f"cannot save to {given}: it is not a regular file")
    return target, stat.S_IMODE(info.st_mode)


def write_atomic_path(path: str | os.PathLike[str], write: Callable[[str], None]) -> Path:
    """Let ``write`` fill a temporary file (given by name, ending in the target's suffix so that
    format-guessing savers pick the right format), then rename it over ``path``.

    For writers that need a file name rather than a handle (Qt painters, image savers). ``write``
    signals failure by raising; the temporary file is removed on any failure and the previous
    file at ``path`` is left as it was. Returns the file actually written (links followed).
    """
    target, mode = resolve_target(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    except OSError as exc:
        raise ModelFileError(f"cannot save to {path}: the folder is not writable, the file could not be created ({_why(exc)})") from exc
    try:
        os.close(fd)
        write(tmp_name)
        with open(tmp_name, "rb+") as handle:
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except OSError as exc:
        _remove_quietly(tmp_name)
        raise ModelFileError(f"cannot save to {path}: {_why(exc)}") from exc
    except BaseException:
        _remove_quietly(tmp_name)
        raise
    return target


def write_atomic(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Let ``write`` fill an open binary handle of a temporary file, then rename it over ``path``."""

    def fill(name: str) -> None:
        with open(name, "wb") as handle:
            write(handle)
            handle.flush()

    return write_atomic_path(path, fill)


def _remove_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass
