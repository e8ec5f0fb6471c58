"""CelebAMat: synthetic face-matting data under occlusion.

The package is organised by concern: ``faces`` (face sources), ``landmarks`` (mediapipe face mesh and
named anchors), ``occluders`` (asset format, library, generators, importers), ``synth`` (sampling and
rendering of composites), ``dataset`` (recipes, shards, builds, cards, verification, Hub) and ``cli``.
Heavy dependencies (mediapipe, torch, dask, rembg) are imported where they are used.
"""

__version__ = "0.1.0"
