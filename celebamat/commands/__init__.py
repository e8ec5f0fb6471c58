"""The ``celebamat`` sub-commands; shared checks of their numeric options."""

from __future__ import annotations

import math

from celebamat.errors import CelebAMatError


def check_number(option: str, value: float | None, lo: float | None = None, hi: float | None = None,
                 *, hi_open: bool = False) -> None:
    """Refuse a numeric option outside ``[lo, hi]`` (``[lo, hi)`` with ``hi_open``), or not finite, naming it.

    ``None`` (an option left out) passes. Raises :class:`CelebAMatError`, which the CLI prints as one sentence.
    """
    if value is None:
        return
    if not math.isfinite(value):
        raise CelebAMatError(f"{option} must be a finite number, got {value}")
    if lo is not None and value < lo:
        raise CelebAMatError(f"{option} must be at least {lo}, got {value}")
    if hi is not None and (value >= hi if hi_open else value > hi):
        raise CelebAMatError(f"{option} must be {'below' if hi_open else 'at most'} {hi}, got {value}")
