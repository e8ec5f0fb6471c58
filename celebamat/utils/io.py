"""Atomic file writes and checksums."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def temp_path(path: str | Path) -> Path:
    """A temporary sibling name for ``path`` (same folder, so the final rename is atomic)."""
    p = Path(path)
    return p.with_name(f".tmp-{os.getpid()}-{p.name}")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync, then rename: readers never see half a file."""
    p = Path(path)
    tmp = temp_path(p)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, p)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def output_dir(path: str | Path, option: str = "--out") -> Path:
    """Create the output folder ``path`` (and its parents) and check that it is writable.

    File system errors become one :class:`~celebamat.errors.CelebAMatError` sentence naming the folder and
    ``option`` (the command line option that gave it): a file in the way, a read-only folder, a full disk.
    """
    from celebamat.errors import CelebAMatError

    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise CelebAMatError(f"{option} {p}: cannot create this folder, because it or a folder above it is a "
                             f"file; choose another {option}") from None
    except OSError as exc:
        raise CelebAMatError(f"{option} {p}: cannot create this folder ({exc.strerror or exc}); choose another "
                             f"{option} or fix its permissions") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise CelebAMatError(f"{option} {p}: the folder is not writable; choose another {option} or fix its "
                             "permissions")
    return p
