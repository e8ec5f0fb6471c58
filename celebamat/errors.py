"""Exceptions shared across the toolkit. Messages name the file, key or value at fault and what to do."""

from __future__ import annotations


class CelebAMatError(Exception):
    """Base class for errors reported to users (the CLI prints them without a traceback)."""


class FaceSkipped(CelebAMatError):
    """A face that cannot be used. ``reason`` is one of :data:`SKIP_REASONS`; ``key`` names the face."""

    def __init__(self, key: str, reason: str, detail: str = "") -> None:
        self.key = key
        self.reason = reason
        self.detail = detail
        super().__init__(f"{key}: {reason}" + (f" ({detail})" if detail else ""))


#: Reasons a face source may give for skipping a face.
SKIP_REASONS = (
    "unreadable file",
    "empty file",
    "image too large",
    "no face",
    "several faces",
    "face too small",
    "mask missing",
    "already occluded",
    "no skin",
)


class RecipeError(CelebAMatError):
    """A malformed recipe: the message names the key, the value and what is allowed."""


class AssetError(CelebAMatError):
    """A malformed occluder asset: the message names the file and the fault."""
