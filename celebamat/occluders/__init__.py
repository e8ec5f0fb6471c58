"""Occluder assets: the format, the bundled library, procedural generators, importers, contact sheets.

Heavy optional parts (mediapipe for hand landmarks, rembg) are imported only by the importers that use them.
"""

from celebamat.occluders.asset import (EDGES, KINDS, MEASURES, SUBTYPES, ZONES, OccluderAsset, OccluderLibrary,
                                       bundled_library_dir, load_asset, load_library, validate_metadata,
                                       write_asset)
from celebamat.occluders.importers import (find_pairs, import_pairs, import_photos_rembg, import_rgba_folder,
                                           u2net_model_path)
from celebamat.occluders.library import DEFAULT_SEED, PLAN, generate_library, plan_library, render_entry
from celebamat.occluders.sheet import render_sheet

__all__ = [
    "EDGES", "KINDS", "MEASURES", "SUBTYPES", "ZONES", "DEFAULT_SEED", "PLAN", "OccluderAsset", "OccluderLibrary",
    "bundled_library_dir", "load_asset", "load_library", "validate_metadata", "write_asset", "generate_library",
    "plan_library", "render_entry", "find_pairs", "import_rgba_folder", "import_pairs", "import_photos_rembg",
    "u2net_model_path", "render_sheet",
]
