"""Import third-party occluders: RGBA folders, image + alpha pairs, plain photos matted with rembg.

Imported assets are cropped to their alpha (with a margin), limited in size, given anchors from their
shape (principal axis, entry side) or, for hands, from mediapipe's hand landmarks, and written in the
library format (PNG + JSON) so that :func:`celebamat.occluders.load_library` reads them.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from celebamat.errors import AssetError
from celebamat.occluders.asset import KINDS, OccluderAsset, write_asset
from celebamat.utils.hashing import name_hash, stable_split

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
#: Folder-name pairs (image folder, alpha folder) recognised by :func:`import_pairs`, first match wins.
PAIR_FOLDERS = (("fg", "alpha"), ("images", "masks"), ("image", "alpha"), ("images", "alpha"),
                ("images", "masks_derived"), ("images", "masks_hair"), ("img", "mask"), ("rgb", "alpha"))
#: File-name suffix pairs in one folder (``3_image.png`` + ``3_alpha.png``).
PAIR_SUFFIXES = (("_image", "_alpha"), ("_fg", "_alpha"), ("", "_alpha"), ("", "_mask"))
_LAYERS = {"hand": 40, "hair": 10, "accessory": 35, "translucent": 20, "texture": 25}
_EDGE_EXIT = {"bottom": "exit_down", "top": "exit_up", "left": "exit_left", "right": "exit_right"}
#: Quarter turns (``np.rot90``'s ``k``, counter-clockwise) that bring an arm cut by this border to the bottom one.
_TURNS_TO_BOTTOM = {"top": 2, "left": 1, "right": -1}


#: Longest part of an asset id taken from a file name: ids name files (``<id>.json``), which most file systems
#: allow 255 bytes; a longer name is cut and ends in 8 hex digits of its hash, so long names stay apart.
MAX_NAME_IN_ID = 100


def asset_stem(name: str) -> str:
    """The part of an asset id made from a file name: accents folded to ASCII (``Hände`` -> ``Hande``), every
    other character outside letters, digits and ``._-`` replaced by ``_``, and cut to :data:`MAX_NAME_IN_ID`."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in folded).strip(".") or "asset"
    if len(stem) > MAX_NAME_IN_ID:
        stem = f"{stem[: MAX_NAME_IN_ID - 9]}-{name_hash(name):08x}"
    return stem


class AssetIds:
    """Asset ids of one import into ``out_dir``: unique, and never an asset already there unless ``overwrite``.

    Two files whose names map to one id (``dup .png`` and ``dup_.png``) keep apart: the later one's id ends in
    8 hex digits of its name's hash. An id whose asset is already in ``out_dir`` is refused (the file is
    skipped, naming it) unless ``overwrite``.
    """

    def __init__(self, out_dir: str | Path, overwrite: bool = False) -> None:
        self.out_dir, self.overwrite = Path(out_dir), overwrite
        self.taken: dict[str, str] = {}

    def claim(self, asset_id: str, name: str) -> str:
        """The id for the file ``name`` (``asset_id`` or, when another file of this import holds it, a
        variant); raises :class:`AssetError` when the asset already exists in ``out_dir``."""
        if asset_id in self.taken:
            asset_id = f"{asset_id}-{name_hash(name):08x}"
            if asset_id in self.taken:
                raise AssetError(f"asset id {asset_id!r} is also the id of {self.taken[asset_id]!r}; rename one")
        self.taken[asset_id] = name
        if not self.overwrite and (self.out_dir / f"{asset_id}.json").exists():
            raise AssetError(f"asset {asset_id!r} already exists in {self.out_dir}: kept; pass --overwrite "
                             "to replace it")
        return asset_id


def soften_binary(alpha: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Give a binary (0/255) mask a soft anti-aliased edge; soft mattes are returned unchanged. uint8 in/out."""
    if np.isin(alpha, (0, 255)).all():
        a = cv2.GaussianBlur(alpha.astype(np.float32), (0, 0), sigma)
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return alpha


def _touching_edge(alpha: np.ndarray, min_frac: float = 0.02) -> str | None:
    """Border the object enters from (the one its alpha covers most), if it covers a real part of one."""
    h, w = alpha.shape
    cover = {"bottom": (alpha[-1] > 128).mean(), "top": (alpha[0] > 128).mean(),
             "left": (alpha[:, 0] > 128).mean(), "right": (alpha[:, -1] > 128).mean()}
    edge, frac = max(cover.items(), key=lambda kv: kv[1])
    return edge if frac >= min_frac else None


def _crop(rgba: np.ndarray, keep_edge: str | None, margin: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Crop to the alpha box plus a transparent margin; the entry edge stays cut. Returns (rgba, offset)."""
    a = rgba[..., 3]
    ys, xs = np.nonzero(a > 0)
    if ys.size == 0:
        raise AssetError("empty alpha")
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = rgba[y0:y1, x0:x1]
    pad = [[margin, margin], [margin, margin], [0, 0]]
    side = {"top": (0, 0), "bottom": (0, 1), "left": (1, 0), "right": (1, 1)}
    if keep_edge:
        ax, end = side[keep_edge]
        pad[ax][end] = 0
        # Clear a thin band along the other borders so alpha is zero there.
    out = np.pad(crop, pad)
    return out, np.array([x0 - pad[1][0], y0 - pad[0][0]], float)


def _limit_size(rgba: np.ndarray, max_size: int) -> tuple[np.ndarray, float]:
    h, w = rgba.shape[:2]
    f = min(1.0, max_size / max(h, w))
    if f >= 1.0:
        return rgba, 1.0
    size = (max(1, round(w * f)), max(1, round(h * f)))
    a = rgba[..., 3:].astype(np.float32) / 255
    prem = cv2.resize(rgba[..., :3].astype(np.float32) * a, size, interpolation=cv2.INTER_AREA)
    a2 = cv2.resize(a[..., 0], size, interpolation=cv2.INTER_AREA)
    col = prem / np.maximum(a2[..., None], 1e-4)
    out = np.dstack([np.clip(np.rint(col), 0, 255), np.clip(np.rint(a2 * 255), 0, 255)]).astype(np.uint8)
    return out, f


def shape_anchors(alpha: np.ndarray, exit_edge: str | None) -> dict[str, list[float]]:
    """Anchors from the shape: ``center`` (alpha centroid), ``axis_a``/``axis_b`` (principal-axis ends) and,
    for objects entering from a border, ``entry`` on that border."""
    h, w = alpha.shape
    wgt = alpha.astype(np.float64) / 255
    ys, xs = np.mgrid[0:h, 0:w]
    tot = wgt.sum()
    cx, cy = (wgt * xs).sum() / tot, (wgt * ys).sum() / tot
    cov = np.cov(np.stack([xs.ravel(), ys.ravel()]), aweights=wgt.ravel() + 1e-12)
    evals, evecs = np.linalg.eigh(cov)
    d = evecs[:, -1]
    half = 2 * np.sqrt(max(evals[-1], 1e-9))
    clip = lambda x, y: [float(np.clip(x, 0, w)), float(np.clip(y, 0, h))]  # noqa: E731
    anchors = {"center": clip(cx, cy), "axis_a": clip(cx - d[0] * half, cy - d[1] * half),
               "axis_b": clip(cx + d[0] * half, cy + d[1] * half)}
    if exit_edge:
        band = {"bottom": alpha[-1], "top": alpha[0], "left": alpha[:, 0], "right": alpha[:, -1]}[exit_edge]
        idx = np.nonzero(band > 128)[0]
        mid = float(idx.mean()) if idx.size else (w / 2 if exit_edge in ("top", "bottom") else h / 2)
        anchors["entry"] = {"bottom": [mid, float(h)], "top": [mid, 0.0], "left": [0.0, mid],
                            "right": [float(w), mid]}[exit_edge]
    return anchors


def fade_cut_borders(alpha: np.ndarray, frac: float = 0.08) -> np.ndarray:
    """``alpha`` ``(h, w)`` uint8 faded to 0 over the last ``frac`` of the side along every border it touches."""
    out = alpha.astype(np.float64)
    h, w = alpha.shape
    for border, n in (("top", h), ("bottom", h), ("left", w), ("right", w)):
        line = {"top": alpha[0], "bottom": alpha[-1], "left": alpha[:, 0], "right": alpha[:, -1]}[border]
        if not line.any():
            continue
        k = max(4, int(round(frac * n)))
        ramp = np.minimum(1.0, (np.arange(n) + 0.5) / k)  # 0 at the border, 1 from k pixels in
        if border in ("bottom", "right"):
            ramp = ramp[::-1]
        out *= ramp[:, None] if border in ("top", "bottom") else ramp[None, :]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


#: Where the top of an imported hair asset goes (chosen per asset from its name; mirroring swaps the sides).
HAIR_TARGETS = ("hairline", "temple_left", "temple_right")


def hair_top(alpha: np.ndarray) -> list[float]:
    """The top of a hair matte ``(h, w)`` uint8: the middle of its solid pixels (alpha > 128) in its top rows
    (the first 5 % of its solid height), in pixels ``[x, y]``."""
    solid = alpha > 128
    rows = np.nonzero(solid.any(1))[0]
    if rows.size == 0:  # only faint alpha: fall back to any coverage
        solid = alpha > 0
        rows = np.nonzero(solid.any(1))[0]
    y0 = int(rows[0])
    y1 = y0 + max(1, int(0.05 * (rows[-1] - y0 + 1)))
    xs = np.nonzero(solid[y0:y1].any(0))[0]
    return [float(xs.mean()), float(y0)]


_HANDS = None


def _hand_landmarks(rgba: np.ndarray) -> np.ndarray | None:
    """Mediapipe hand landmarks ``(21, 2)`` px of the asset composited on grey, or None."""
    global _HANDS
    import mediapipe as mp

    if _HANDS is None:
        _HANDS = mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=1, min_detection_confidence=0.3)
    a = rgba[..., 3:].astype(np.float32) / 255
    rgb = (rgba[..., :3] * a + 128 * (1 - a)).astype(np.uint8)
    h, w = rgb.shape[:2]
    pad = max(h, w) // 4  # the palm detector wants some context around the hand
    rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128))
    res = _HANDS.process(rgb)
    if not res.multi_hand_landmarks:
        return None
    lm = res.multi_hand_landmarks[0].landmark
    return np.array([[p.x * rgb.shape[1] - pad, p.y * rgb.shape[0] - pad] for p in lm])


def _write_imported(rgba: np.ndarray, name: str, kind: str, subtype: str, out_dir: Path, *, source: str,
                    license: str, split: str | None, test_fraction: float, max_size: int,
                    use_mediapipe: bool = True, tags: dict | None = None, asset_id: str | None = None) -> OccluderAsset:
    if rgba[..., 3].max() == 0:
        raise AssetError(f"{source}: empty alpha (every pixel transparent)")
    edge = _touching_edge(rgba[..., 3])
    turned = 0
    if kind == "hand" and edge in _TURNS_TO_BOTTOM:
        # A hand over a face is the person's own: its arm comes up from below the frame. A hand photographed
        # with its arm cut by the top or a side border (most 11k Hands photos point the fingers down) would
        # hang from the top of the frame, a pose real occluded faces hardly show; turned, it enters from the
        # bottom (placed with its +-20 degrees and mirroring like every hand).
        rgba = np.ascontiguousarray(np.rot90(rgba, _TURNS_TO_BOTTOM[edge]))
        turned, edge = 90 * _TURNS_TO_BOTTOM[edge] % 360, "bottom"
    if kind == "hair" and edge is not None:
        # A hair matte cut by its photo's frame is a head of hair, not an occluder entering the frame: its cut
        # ends thin out like strand tips, and it hangs from the head like any other hair (below).
        rgba = np.dstack([rgba[..., :3], fade_cut_borders(rgba[..., 3])])
        edge = None
    rgba, _ = _crop(rgba, edge)
    rgba, _ = _limit_size(rgba, max_size)
    h, w = rgba.shape[:2]
    anchors = shape_anchors(rgba[..., 3], edge)
    targets: dict[str, str] = {}
    zones: list[str] = ["face"]
    tags: dict = {"imported": True, "original": name, **(tags or {})}
    if turned:
        tags["turned_ccw"] = turned  # degrees counter-clockwise from the source photo
    scale = {"measure": "face_width", "length": float(max(h, w)), "range": [0.4, 0.9]}
    if kind == "hand" and use_mediapipe:
        lm = _hand_landmarks(rgba)
        if lm is not None:
            palm = lm[[0, 5, 9, 13, 17]].mean(0)
            anchors["palm"] = [float(np.clip(palm[0], 0, w)), float(np.clip(palm[1], 0, h))]
            anchors["wrist"] = [float(np.clip(lm[0, 0], 0, w)), float(np.clip(lm[0, 1], 0, h))]
            targets = {"palm": "mouth_center"}
            zones = []
            length = float(np.linalg.norm(lm[12] - lm[0]))
            scale = {"measure": "face_height", "length": max(length, 1.0), "range": [0.8, 1.0]}
            tags["hand_landmarks"] = [[round(float(x), 2), round(float(y), 2)] for x, y in lm]
    if kind == "hair" and edge is None:
        # Hair falls from the head: its top goes to the hairline or a temple and it hangs down over the face
        # (a strand centred on the face would read as a patch on the nose).
        anchors["top"] = hair_top(rgba[..., 3])
        targets = {"top": HAIR_TARGETS[name_hash(name) % len(HAIR_TARGETS)]}
        zones = []
    if edge is not None and (targets or kind in ("hand", "hair")):
        targets["entry"] = _EDGE_EXIT[edge]
        zones = zones if targets.keys() - {"entry"} else ["face"]
    meta = {
        "id": asset_id or f"{kind}-{subtype}-{asset_stem(Path(name).stem)}", "kind": kind, "subtype": subtype, "anchors": anchors,
        "targets": targets, "scale": scale, "rotation": [-20.0, 20.0], "mirror": True, "zones": zones,
        "layer": _LAYERS[kind], "split": split or stable_split(name, test_fraction), "license": license,
        "source": source, "tags": tags,
    }
    if edge is not None:
        meta["exit_edge"] = edge
        # Alpha must be zero on every border but the entry one.
        for e in ("top", "bottom", "left", "right"):
            if e != edge:
                sl = {"top": np.s_[0, :, 3], "bottom": np.s_[-1, :, 3], "left": np.s_[:, 0, 3], "right": np.s_[:, -1, 3]}[e]
                rgba[sl] = 0
    return write_asset(out_dir, meta, rgba)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise AssetError(f"unknown occluder kind {kind!r}; expected one of {', '.join(KINDS)}")


def _open_image(path: Path) -> Image.Image:
    """``Image.open`` that refuses, from the header, an image above
    :data:`celebamat.faces.io.MAX_IMAGE_PIXELS` (an occluder is cut down to ``--max-size`` anyway)."""
    import warnings

    from celebamat.faces.io import MAX_IMAGE_PIXELS

    limit = f"images above {MAX_IMAGE_PIXELS // 1_000_000} MP are refused without decoding"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.DecompressionBombError:
        raise AssetError(f"{path}: image too large ({limit})") from None
    w, h = im.size
    if w * h > MAX_IMAGE_PIXELS:
        im.close()
        raise AssetError(f"{path}: image too large ({w} x {h} pixels, {w * h / 1e6:.0f} MP; {limit})")
    return im


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS and p.is_file())


def import_rgba_folder(kind: str, src: str | Path, out_dir: str | Path, *, subtype: str = "imported",
                       license: str = "unknown (see source)", split: str | None = None,
                       test_fraction: float = 0.2, max_size: int = 512,
                       overwrite: bool = False) -> tuple[list[OccluderAsset], list[tuple[str, str]]]:
    """Import every RGBA image of ``src``. Returns (assets, skipped as (path, fault)).

    Ids are unique and assets already in ``out_dir`` are kept unless ``overwrite`` (see :class:`AssetIds`).
    """
    _check_kind(kind)
    src, out_dir = Path(src), Path(out_dir)
    if not src.is_dir():
        raise AssetError(f"import source {src} is not a folder")
    assets, skipped = [], []
    ids = AssetIds(out_dir, overwrite)
    for p in _images(src):
        try:
            asset_id = ids.claim(f"{kind}-{subtype}-{asset_stem(p.stem)}", p.name)
            with _open_image(p) as im:
                if im.mode not in ("RGBA", "LA", "PA") and "transparency" not in im.info:
                    raise AssetError(f"{p}: no alpha channel (mode {im.mode}); use image/alpha pairs or --matte rembg")
                rgba = np.asarray(im.convert("RGBA")).copy()
            rgba[..., 3] = soften_binary(rgba[..., 3])
            assets.append(_write_imported(rgba, p.name, kind, subtype, out_dir, source=f"imported from {p}",
                                          license=license, split=split, test_fraction=test_fraction,
                                          max_size=max_size, asset_id=asset_id))
        except (AssetError, OSError, ValueError, MemoryError, Image.DecompressionBombError) as exc:
            skipped.append((str(p), str(exc)))
    return assets, skipped


def find_pairs(src: str | Path) -> list[tuple[Path, Path]]:
    """(image, alpha) pairs in ``src``: two sibling folders (:data:`PAIR_FOLDERS`) with the same stems, or
    suffix pairs in one folder (:data:`PAIR_SUFFIXES`)."""
    src = Path(src)
    if not src.is_dir():
        raise AssetError(f"import source {src} is not a folder")
    for img_dir, a_dir in PAIR_FOLDERS:
        if (src / img_dir).is_dir() and (src / a_dir).is_dir():
            alphas = {p.stem: p for p in _images(src / a_dir)}
            pairs = []
            for p in _images(src / img_dir):
                for stem in (p.stem, p.stem.replace("-org", "-gt")):
                    if stem in alphas:
                        pairs.append((p, alphas[stem]))
                        break
            if pairs:
                return pairs
    files = _images(src)
    by_stem = {p.stem: p for p in files}
    for img_suf, a_suf in PAIR_SUFFIXES:
        pairs = []
        for p in files:
            if not p.stem.endswith(a_suf):
                continue
            base = p.stem[: len(p.stem) - len(a_suf)]
            img = by_stem.get(base + img_suf)
            if img is not None and img != p:
                pairs.append((img, p))
        if pairs:
            return sorted(pairs)
    return []


def import_pairs(kind: str, src: str | Path, out_dir: str | Path, *, subtype: str = "imported",
                 license: str = "unknown (see source)", split: str | None = None, test_fraction: float = 0.2,
                 max_size: int = 512, overwrite: bool = False) -> tuple[list[OccluderAsset], list[tuple[str, str]]]:
    """Import image + alpha pairs (matting / hand datasets). Binary masks get a soft edge. Ids as
    :func:`import_rgba_folder`."""
    _check_kind(kind)
    pairs = find_pairs(src)
    if not pairs:
        raise AssetError(f"no image/alpha pairs found in {src}: expected sibling folders like "
                         + ", ".join(f"{a}/+{b}/" for a, b in PAIR_FOLDERS[:3])
                         + " with the same file stems, or files named <stem>_image.png + <stem>_alpha.png")
    assets, skipped = [], []
    out_dir = Path(out_dir)
    ids = AssetIds(out_dir, overwrite)
    for img_p, a_p in pairs:
        try:
            asset_id = ids.claim(f"{kind}-{subtype}-{asset_stem(img_p.stem)}", img_p.name)
            with _open_image(img_p) as im:
                rgb = np.asarray(im.convert("RGB"))
            a = read_alpha_file(a_p)
            if a.shape != rgb.shape[:2]:
                raise AssetError(f"{a_p}: alpha size {a.shape[::-1]} differs from image {rgb.shape[1::-1]}")
            rgba = np.dstack([rgb, soften_binary(a)])
            assets.append(_write_imported(rgba, img_p.name, kind, subtype, out_dir,
                                          source=f"imported from {img_p} + {a_p.name}", license=license,
                                          split=split, test_fraction=test_fraction, max_size=max_size,
                                          asset_id=asset_id))
        except (AssetError, OSError, ValueError, MemoryError, Image.DecompressionBombError) as exc:
            skipped.append((str(img_p), str(exc)))
    return assets, skipped


def read_alpha_file(path: str | Path) -> np.ndarray:
    """An alpha matte or mask file as ``(h, w)`` uint8, 255 = opaque.

    Grey images are read as they are, a mask of 0 and 1 is stretched to 0 and 255 (label masks often store
    the class as 1); a colour image whose channels differ is a label map (say red = hair, blue = face), not an
    alpha, and raises :class:`AssetError` naming its colours rather than becoming a faint matte.
    """
    with _open_image(path) as im:
        if im.mode in ("RGB", "RGBA", "P", "CMYK", "YCbCr"):
            rgb = np.asarray(im.convert("RGB"))
            if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])):
                colours = np.unique(rgb.reshape(-1, 3), axis=0)
                shown = ", ".join(str(tuple(int(v) for v in c)) for c in colours[:6])
                raise AssetError(f"{path}: a colour label image ({len(colours)} colours: {shown}"
                                 f"{', ...' if len(colours) > 6 else ''}), not an alpha matte; write the class "
                                 f"you want as a one-channel mask (255 = occluder) and import that")
            a = np.ascontiguousarray(rgb[..., 0])
        else:
            a = np.asarray(im.convert("L"))
    if a.max(initial=0) == 1:
        a = a * np.uint8(255)
    return a


def u2net_model_path(model: str = "u2netp") -> Path | None:
    """Where rembg will find ``model`` offline (``$U2NET_HOME/<m>.onnx`` or ``models/<m>/<m>.onnx``)."""
    home = Path(os.environ.get("U2NET_HOME", Path.home() / ".u2net")).expanduser()
    for p in (home / f"{model}.onnx", home / "models" / model / f"{model}.onnx"):
        if p.is_file():
            return p
    return None


def import_photos_rembg(kind: str, src: str | Path, out_dir: str | Path, *, subtype: str = "imported",
                        model: str = "u2netp", license: str = "unknown (see source)", split: str | None = None,
                        test_fraction: float = 0.2, max_size: int = 512,
                        overwrite: bool = False) -> tuple[list[OccluderAsset], list[tuple[str, str]]]:
    """Matte plain photos of objects with rembg (offline model from ``$U2NET_HOME``) and import them. Ids as
    :func:`import_rgba_folder`."""
    _check_kind(kind)
    if u2net_model_path(model) is None:
        home = os.environ.get("U2NET_HOME", "~/.u2net")
        raise AssetError(
            f"rembg model {model}.onnx not found under U2NET_HOME={home} (looked for {model}.onnx and "
            f"models/{model}/{model}.onnx). rembg cannot download it offline; fetch it with "
            f"`.ci/fetch_u2netp.sh DIR` and `export U2NET_HOME=DIR` (needs `pip install rembg==2.0.86`)")
    try:
        import rembg
    except ImportError:
        raise AssetError("rembg is not installed: `pip install 'celebamat[rembg]'` (rembg==2.0.86)") from None
    session = rembg.new_session(model)
    src = Path(src)
    if not src.is_dir():
        raise AssetError(f"import source {src} is not a folder")
    assets, skipped = [], []
    ids = AssetIds(out_dir, overwrite)
    for p in _images(src):
        try:
            asset_id = ids.claim(f"{kind}-{subtype}-{asset_stem(p.stem)}", p.name)
            with _open_image(p) as im:
                rgb = im.convert("RGB")
                mask = rembg.remove(rgb, session=session, only_mask=True)
            a = np.asarray(mask.convert("L"))
            rgba = np.dstack([np.asarray(rgb), a])
            assets.append(_write_imported(rgba, p.name, kind, subtype, Path(out_dir),
                                          source=f"imported from {p}, matted by rembg {model}", license=license,
                                          split=split, test_fraction=test_fraction, max_size=max_size,
                                          asset_id=asset_id))
        except (AssetError, OSError, ValueError, MemoryError, Image.DecompressionBombError) as exc:
            skipped.append((str(p), str(exc)))
    return assets, skipped
