"""The face-source interface (the sources themselves and the ``open_source`` factory: ``celebamat.faces.sources``)."""

from __future__ import annotations

import abc
import hashlib
import os
from pathlib import Path

from celebamat.errors import CelebAMatError
from celebamat.faces.record import FaceRecord, vet_skin


class FaceSource(abc.ABC):
    """A collection of faces addressed by key.

    Attributes:
        name: source kind (``demo``, ``folder``, ``celebamask-hq``).
        spec: the spec string it was opened from.
        size: side of the aligned faces it yields.
        license: licence text for the dataset card.
    """

    name: str = ""
    license: str = ""
    #: Whether :meth:`check` is lighter than :meth:`load` (a build's face scan then calls it instead).
    light_check: bool = False

    def __init__(self, spec: str, size: int) -> None:
        if int(size) < 32:
            raise CelebAMatError(f"face size must be at least 32 px, got {size}")
        self.spec = spec
        self.size = int(size)

    @abc.abstractmethod
    def keys(self) -> list[str]:
        """All face keys, sorted; cheap (no decoding). A key is also the face id of its record."""

    def signature(self) -> str:
        """A digest that changes when the source's faces change (a build's face-scan cache is keyed by it).

        The default covers the keys only; sources backed by files also cover what is on disk.
        """
        return hashlib.sha256("\n".join(self.keys()).encode()).hexdigest()

    def identity(self, key: str) -> str | None:
        """Person id of a face (cheap), or ``None`` when unknown."""
        return None

    @abc.abstractmethod
    def load(self, key: str) -> FaceRecord:
        """The aligned face of ``key``. Raises :class:`celebamat.errors.FaceSkipped` for an unusable face."""

    def load_usable(self, key: str) -> FaceRecord:
        """:meth:`load`, then refuse a face whose skin matte cannot carry a sample (``"no skin"``).

        Builds, scans and previews go through here, so a face is skipped by the same rule everywhere.
        """
        return vet_skin(self.load(key))

    def check(self, key: str) -> str | None:
        """Vet a face for a build plan; returns its identity (see :meth:`identity`).

        Raises :class:`celebamat.errors.FaceSkipped` for a face :meth:`load` would refuse. The default loads
        the face. A source may check less, when a full load is costly and rarely fails: it must never refuse
        a face that :meth:`load` accepts, and a face it lets through that :meth:`load` then refuses is
        replaced in the build by another face of the same split, and reported.
        """
        return self.load_usable(key).identity

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(spec={self.spec!r}, size={self.size})"


def files_signature(paths: list[Path], root: Path) -> str:
    """sha256 over (path relative to ``root``, size, modification time) of each file: cheap (stat only), and
    it changes when a file is added, removed, replaced or edited."""
    h = hashlib.sha256()
    for p in sorted(paths):
        try:
            st = os.stat(p)
            h.update(f"{p.relative_to(root).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{p.relative_to(root).as_posix()}\0missing\n".encode())
    return h.hexdigest()
