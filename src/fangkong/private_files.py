"""Files that hold personal data — order documents, assistance exchange files, any export that
names people — are readable and writable by their owner only (mode 0600), and the directories
fangkong creates for them by their owner only (0700). Every writer of such a file goes through
this module, so the rule has one implementation.

The mode is set when the file is created (not after it is written, which would leave a moment
in which others could open it) and again on a file that existed before with a wider mode. A
directory that exists already is left as it is: it may be a shared folder the user chose, and
the files in it are private anyway. A file-system problem (a file where a directory should be,
no permission, a full disk) is an InputError naming the path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from fangkong.errors import InputError

__all__ = ["DIRECTORY_MODE", "FILE_MODE", "private_directory", "private_file", "write_private"]

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def _problem(path: Path, what: str, exc: OSError) -> InputError:
    return InputError(f"{path}: cannot {what}: {exc.strerror or type(exc).__name__}")


def private_directory(path: Path) -> Path:
    """`path` as a directory, created (with its parents) for its owner only if missing."""
    if path.is_dir():
        return path
    try:
        path.mkdir(parents=True, mode=DIRECTORY_MODE)
        os.chmod(path, DIRECTORY_MODE)  # the umask may have taken bits off; never adds any
    except OSError as exc:
        raise _problem(path, "create the directory", exc) from exc
    return path


@contextmanager
def private_file(path: Path) -> Iterator[BinaryIO]:
    """`path` opened for writing (created or emptied) with mode 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    except OSError as exc:
        raise _problem(path, "write the file", exc) from exc
    with os.fdopen(fd, "wb") as fh:
        try:
            os.fchmod(fh.fileno(), FILE_MODE)  # a file that existed keeps its mode otherwise
            yield fh
        except OSError as exc:
            raise _problem(path, "write the file", exc) from exc


def write_private(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path` with mode 0600."""
    with private_file(path) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
