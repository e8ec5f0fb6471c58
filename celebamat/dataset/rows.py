"""Render one row of a build: the sample's face (or its replacement), params, images, the checks of
``celebamat verify`` and the encoded cells of the row."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from celebamat.dataset.recipe import Recipe
from celebamat.dataset.worker import library_for, load_face, source_for
from celebamat.utils.images import encode_jpeg, encode_png

_REPLACE_STREAM = 0x5EB5


def face_for_row(
    source, key: str, index: int, pool: tuple[str, ...], seed: int, failed: dict[str, Any]
) -> Any:
    """The face of sample ``index``: ``key``, or when it fails to load, the first face of ``pool`` that loads,
    in an order drawn from ``(seed, index)`` (so the same for any worker). ``failed`` collects the faces
    that failed (key -> ``FaceSkipped``), and is consulted before trying a face again.
    """
    from celebamat.errors import CelebAMatError, FaceSkipped

    candidates = [key]
    for attempt in range(2):
        for k in candidates:
            if k in failed:
                continue
            try:
                return load_face(source, k)
            except FaceSkipped as exc:
                failed[k] = exc
        if attempt == 0:
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), _REPLACE_STREAM, int(index)]))
            candidates = [pool[i] for i in rng.permutation(len(pool))]
    raise CelebAMatError(f"sample {index}: face {key} failed to load and so did every other face of its split "
                         f"({len(pool)}); first fault: {next(iter(failed.values()))}")


def render_row(
    recipe: Recipe, split: str, row: int, index: int, key: str, pool: tuple[str, ...] = (),
    failed: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], Any]:
    """Render sample ``index`` (row ``row`` of ``split``) from face ``key`` (or its replacement from ``pool``
    when it fails to load); returns (row dict, params)."""
    source, library = source_for(recipe), library_for(recipe)
    face = face_for_row(source, key, index, pool or (key,), recipe.seed, {} if failed is None else failed)
    return render_face_row(recipe, library, face, split, row, index)


def render_face_row(recipe: Recipe, library: Any, face: Any, split: str, row: int, index: int
                    ) -> tuple[dict[str, Any], Any]:
    """Render and encode sample ``index`` (row ``row`` of ``split``) of ``recipe`` on a loaded ``face``;
    returns (row dict, params).

    Raises:
        CelebAMatError: when the sample fails a check of ``celebamat verify`` (a bug, never written).
    """
    from celebamat.dataset.verify import sample_faults
    from celebamat.errors import CelebAMatError
    from celebamat.synth.render import render
    from celebamat.synth.sampling import sample_params, sample_rng, sample_seed

    seed = sample_seed(recipe.seed, index)
    params = sample_params(sample_rng(recipe.seed, index), face, library, recipe.synth, split=split, seed=seed)
    assets = {op.asset_id: library.get(op.asset_id) for op in params.occluders}
    s = render(face, assets, params)
    landmarks = (face.landmarks / float(face.size)).astype(np.float32)
    faults = sample_faults(s.alpha, s.skin, s.occluder_alpha, bool(params.occluders), landmarks)
    if faults:
        raise CelebAMatError(f"sample {index} ({split} row {row}, face {face.face_id}) would fail verify: "
                             + "; ".join(f"[{k}] {m}" for k, m in faults) + "; please report this bug")
    out = recipe.output
    enc = (lambda im: encode_jpeg(im, out.jpeg_quality)) if out.image_format == "jpeg" else encode_png
    skin_sum = _matte_sum(s.skin)
    frac = 1.0 - _matte_sum(s.alpha) / skin_sum if skin_sum > 0 else 0.0
    row_dict = {
        "id": f"{split}-{row:07d}",
        # A sample compressed by its params keeps those JPEG bytes: a second compression would only lose more.
        "image": {"bytes": s.image_jpeg if out.image_format == "jpeg" and s.image_jpeg else enc(s.image),
                  "path": None},
        "alpha": {"bytes": encode_png(s.alpha), "path": None},
        "skin": {"bytes": _skin_png(face, s.skin), "path": None},
        "occluder_alpha": {"bytes": encode_png(s.occluder_alpha), "path": None},
        "clean": {"bytes": _clean_bytes(face, s.clean, out, enc), "path": None} if out.store_clean else None,
        "landmarks": landmarks,
        "occluders": [
            {
                "kind": op.kind,
                "subtype": op.subtype,
                "asset_id": op.asset_id,
                "transform": list(op.transform),
                "opacity": op.opacity,
                "mirrored": op.mirrored,
                "depth": op.depth,
                "tone_transfer": op.tone_transfer,
                "light_match": op.light_match,
                "shadow_opacity": op.shadow_opacity,
                "defocus_sigma": op.defocus_sigma,
                "motion_blur": op.motion_blur,
            }
            for op in params.occluders
        ],
        "occluded_fraction": max(0.0, frac),
        "face_id": face.face_id,
        "identity": face.identity or "",
        "source": face.source,
        "skin_source": face.skin_source,
        "seed": seed,
        "split": split,
        "params": params.to_json(),
    }
    return row_dict, params


def _matte_sum(matte: np.ndarray) -> int:
    """The exact sum of an 8-bit matte (OpenCV's SIMD sum: integer blocks gathered in a double, exact far beyond
    any image's 255 * H * W; NumPy's int64 sum of uint8 is fifty times slower)."""
    return int(cv2.sumElems(matte)[0])


def _skin_png(face: Any, skin: np.ndarray) -> bytes:
    """The PNG of the face's skin matte (``render``'s ``skin``, a pure function of the face): encoded once per
    face and kept in its memo, since every composite on a face stores the same one."""
    from celebamat.synth.face_memo import face_memo

    memo = face_memo(face)
    if "skin_png" not in memo:
        memo["skin_png"] = encode_png(skin)
    return memo["skin_png"]


def _clean_bytes(face: Any, clean: np.ndarray, out: Any, enc: Any) -> bytes:
    """The clean image's bytes: in a JPEG dataset, the source file's own JPEG when the face is exactly its
    decoding (``FaceRecord.encoded``: CelebAMask-HQ at 1024 px), which loses nothing more and costs no encoding;
    otherwise ``enc(clean)``."""
    encoded = getattr(face, "encoded", None)
    if out.image_format == "jpeg" and encoded is not None and clean is face.image:
        return encoded
    return enc(clean)

