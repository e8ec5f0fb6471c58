"""FaceMat: trimap-free face matting under occlusion, trained on the published CelebAMat shards.

Training depends only on the published dataset format (parquet shards read through ``datasets``), so anyone
holding the Hub dataset can train. Prediction and the real-photo benchmarks need crops framed exactly like the
data's, so they use celebamat's small public face API (find faces, landmarks, align and paste back, read
photos, CelebAMask-HQ's parts) and its ground-floor file helpers; never the rest of ``celebamat``. The list is
``tools/check_imports.py``'s ``FACEMAT_MAY_IMPORT``, checked by ``tests/test_architecture.py``.
A pretrained student ships in the package: ``facemat.load_pretrained()`` (and ``facemat-predict`` without
``--checkpoint``) uses it.
"""

__version__ = "0.1.0"


def load_pretrained(name=None, runtime=None, device="cpu", threads=None):
    """The bundled FaceMat model (or ``name``: a bundled name, ``hf-hub:USER/NAME[@REV]`` or a path) as a runtime
    for :class:`facemat.predict.Predictor`; see :func:`facemat.runtime.load_pretrained`."""
    from .runtime import load_pretrained as _load

    return _load(name, runtime=runtime, device=device, threads=threads)


def list_pretrained() -> list[str]:
    """Names of the bundled models (:func:`facemat.pretrained.list_pretrained`)."""
    from .pretrained import list_pretrained as _list

    return _list()
