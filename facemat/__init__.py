"""FaceMat: trimap-free face matting under occlusion, trained on the published CelebAMat shards.

Training depends only on the published dataset format (parquet shards read through ``datasets``), so anyone
holding the Hub dataset can train. Prediction and the real-photo benchmarks need crops framed exactly like the
data's, so they use celebamat's small public face API (find faces, landmarks, align and paste back, read
photos, CelebAMask-HQ's parts) and its ground-floor file helpers; never the rest of ``celebamat``. The list is
``tools/check_imports.py``'s ``FACEMAT_MAY_IMPORT``, checked by ``tests/test_architecture.py``.
"""

__version__ = "0.1.0"
