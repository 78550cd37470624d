"""Checks on path names given by a user, before the file system is asked about them.

An empty name, an over-long path or file name, or a name with a NUL byte would otherwise reach
the operating system and come back as a raw ``OSError`` (or, for ``""``, silently mean the
current folder). The messages print long paths shortened, so they stay one readable line.
"""

from __future__ import annotations

import os

from simulator.errors import ModelFileError

#: Linux limits: a whole path (PATH_MAX) and one name in it (NAME_MAX), in bytes
MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255
#: paths longer than this are shown with their middle left out
SHOWN_CHARS = 120


def shown(path: str | os.PathLike[str]) -> str:
    """``path`` for a message: whole if short, else its start and end around an ellipsis."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "backslashreplace")
    if len(text) <= SHOWN_CHARS:
        return text
    half = (SHOWN_CHARS - 1) // 2
    return f"{text[:half]}…{text[-half:]} ({len(text):,} characters)"


def check_path_name(path: str | os.PathLike[str], what: str) -> str:
    """``path`` as text if the OS can take it as a name, else a one-line :class:`ModelFileError`.

    ``what`` says what the path is for ("the model", "the output file").
    """
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    if not text.strip():
        raise ModelFileError(f"{what}: the file name is empty")
    if "\0" in text:
        raise ModelFileError(f"{what}: the file name {shown(text)!r} contains a NUL character")
    encoded = text.encode("utf-8", "surrogateescape")
    if len(encoded) >= MAX_PATH_BYTES:
        raise ModelFileError(f"{what}: the path is too long ({len(encoded):,} bytes; at most {MAX_PATH_BYTES - 1:,}): {shown(text)}")
    longest = max(encoded.split(b"/"), key=len)
    if len(longest) > MAX_NAME_BYTES:
        raise ModelFileError(
            f"{what}: a name in the path is too long ({len(longest):,} bytes; at most {MAX_NAME_BYTES}): {shown(text)}"
        )
    return text
