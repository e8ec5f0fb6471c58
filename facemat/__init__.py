"""FaceMat: trimap-free face matting under occlusion, trained on the published CelebAMat shards.

``facemat`` depends only on the published dataset format (parquet shards read through ``datasets``), never
on ``celebamat`` internals, so anyone holding the Hub dataset can train.
"""

__version__ = "0.1.0"
