"""Face sources: aligned faces with skin mattes (annotated or estimated), landmarks, identities and provenance.

``open_source(spec, size=512, **options)`` opens ``demo``, ``folder:DIR`` or ``celebamask-hq:ROOT``; see
``docs/faces.md``. Submodules: ``align`` (alignment transforms), ``skin`` (skin mattes), ``estimators``
(what makes the skin of unannotated photos), ``score`` (scoring an estimator against true skin), ``io``
(reading photos), ``photo`` (aligning arbitrary photos), ``inspect`` (contact sheets).
"""

from celebamat.faces.base import FaceSource
from celebamat.faces.record import FaceRecord
from celebamat.faces.sources import open_source

__all__ = ["FaceRecord", "FaceSource", "open_source"]
