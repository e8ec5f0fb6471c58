"""Procedural occluder generators. Each module exposes ``make_<kind>(rng, index, subtype) -> (meta, rgba)``."""
