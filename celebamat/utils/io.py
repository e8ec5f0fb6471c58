"""Atomic file writes and checksums: the one implementation both packages use (``facemat.io`` builds on it).

An atomic write goes to a temporary file in the destination's folder (same file system), is flushed to disk
and renamed over the destination with :func:`os.replace` (atomic on POSIX and Windows): a reader never sees
half a file, a crash leaves the previous file whole, and on any error the temporary file is removed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (its folder is created); on success the file written there is
    flushed to disk and replaces ``path``, on error it is removed.

    ``suffix`` keeps a file extension on the temporary name for writers that choose a format by it (PIL).
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{dest.name}.", suffix=suffix or ".tmp", dir=dest.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the permissions open() would
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`atomic_path`): readers never see half a file."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
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
