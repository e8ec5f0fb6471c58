"""Errors of facemat's model loading, reported to users in one sentence (the CLIs print them without a traceback)."""

from __future__ import annotations


class RuntimeSetupError(ValueError):
    """A checkpoint or runtime choice that cannot be used; the message names the file and what to do."""


class PretrainedError(RuntimeSetupError):
    """A pretrained model that cannot be found, downloaded or packaged; the message says what to do."""


class PretrainedWeightsError(ValueError):
    """Pretrained encoder weights that cannot be found, read or mapped; the message names the source and the
    tensor (:mod:`facemat.models.pretrained`, :mod:`facemat.models.portrait_weights`)."""
