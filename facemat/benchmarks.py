"""Readers of real-photo benchmarks with visible-face ground truth: ``KIND:DIR`` -> photos and masks.

Every reader yields :class:`BenchmarkItem` objects whose ground truth is the *visible face* as an ``(H, W)``
float32 alpha in [0, 1] (1 = face skin, brows, eyes, nose, mouth, lips; 0 = everything else, occluders
included). Kinds:

- ``folder:DIR``: photos with visible-face masks (255 = face; masks stored as 0/1 are read as 0/255; a soft
  mask is kept soft). Found as, in this order:
  ``DIR/<images dir>/NAME.ext`` + ``DIR/<masks dir>/NAME.png`` (images dir: ``images``, ``image``, ``imgs``,
  ``img``, ``photos``; masks dir: any folder whose name starts with ``mask`` (``masks``,
  ``masks_face_visible``...), or ``gt``, ``labels``, ``annotations``), the layout of RealOcc, RealOcc-Wild,
  FaceOcc exports and SegFace-style folders; or ``DIR/NAME.ext`` beside ``DIR/NAME.mask.png`` /
  ``DIR/NAME_mask.png``.
- ``lapa:DIR``: LaPa (``DIR`` = the LaPa root, scored on ``test/``, or one split folder holding ``images/`` and
  ``labels/``). Label ids: 0 background, 1 skin, 2/3 brows, 4/5 eyes, 6 nose, 7 upper lip, 8 inner mouth,
  9 lower lip, 10 hair; face = 1..9.
- ``celebamask-hq:DIR``: CelebAMask-HQ (``CelebA-HQ-img/<n>.jpg`` and
  ``CelebAMask-HQ-mask-anno/<n // 2000>/<nnnnn>_<part>.png``). The part masks are painted in this order, a later
  part covering an earlier one: skin, nose, eyes, brows, ears, mouth, lips, then the occluding parts eyeglasses,
  hair, hat, earring, necklace, neck, cloth. Face = pixels whose top part is skin, nose, an eye, a brow, the
  mouth or a lip. Unlike CelebAMask-HQ's own label maps, eyeglasses cover the eyes and brows behind them (an
  occluder is never face). The masks are 512 px; photos of 1024 px are scored at 512 px (the prediction is
  resized to the mask).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from celebamat.faces.parts import FACE_PARTS, painting_order

KINDS = ("folder", "lapa", "celebamask-hq")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
IMAGE_DIRS = ("images", "image", "imgs", "img", "photos")
MASK_DIRS = ("gt", "labels", "annotations")
LAPA_FACE_IDS = tuple(range(1, 10))
#: CelebAMask-HQ parts in painting order (later covers earlier): the dataset's, with the eyeglasses painted over
#: every face part (an occluder is never face); and the ones that are face.
CELEBAMASK_ORDER = painting_order(on_top=("eye_g",))
CELEBAMASK_FACE = FACE_PARTS


class BenchmarkError(ValueError):
    """A benchmark spec or folder that cannot be read; the message names the path and the expected layout."""


@dataclass(frozen=True)
class BenchmarkItem:
    """One photo of a benchmark.

    Attributes:
        name: unique name within the benchmark (relative path without suffix).
        image_path: the photo.
        load_gt: returns the visible-face ground truth, ``(H, W)`` float32 in [0, 1].
    """

    name: str
    image_path: Path
    load_gt: Callable[[], np.ndarray]


def read_rgb(path: Path) -> np.ndarray:
    """A photo as ``(H, W, 3)`` uint8 RGB (no EXIF rotation, so it stays registered with its mask)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def read_mask(path: Path) -> np.ndarray:
    """A visible-face mask as ``(H, W)`` float32 in [0, 1]: 8-bit grey (255 = face; colour masks by their
    luminance), 16-bit grey scaled from 65535, and 0/1 masks (bilevel, or 8-bit with maximum 1) read as 0/255."""
    from PIL import Image

    with Image.open(path) as im:
        a = np.asarray(im if im.mode in ("I", "I;16") else im.convert("L"), dtype=np.float64)
    if a.max() > 255:
        a = a / 257.0
    elif 0 < a.max() <= 1:
        a = a * 255.0
    return (a / 255.0).astype(np.float32)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def _mask_dir(root: Path) -> Path | None:
    dirs = sorted(p for p in root.iterdir() if p.is_dir())
    for d in dirs:
        if d.name.lower().startswith("mask"):
            return d
    for d in dirs:
        if d.name.lower() in MASK_DIRS:
            return d
    return None


def _folder_items(root: Path) -> list[BenchmarkItem]:
    images_dir = next((root / d for d in IMAGE_DIRS if (root / d).is_dir()), None)
    masks_dir = _mask_dir(root)
    items: list[BenchmarkItem] = []
    if images_dir is not None and masks_dir is not None:
        masks = {p.stem: p for p in _images_in(masks_dir)}
        missing = []
        for img in _images_in(images_dir):
            mask = masks.get(img.stem)
            if mask is None:
                missing.append(img.name)
                continue
            items.append(BenchmarkItem(img.stem, img, lambda m=mask: read_mask(m)))
        if missing:
            raise BenchmarkError(f"{masks_dir} has no mask for {len(missing)} photo(s) of {images_dir}, e.g. "
                                 f"{missing[0]}; every photo needs a mask with the same name (.png)")
        return items
    for img in _images_in(root):
        if re.search(r"[._]mask$", img.stem):
            continue
        for cand in (img.with_name(f"{img.stem}.mask.png"), img.with_name(f"{img.stem}_mask.png")):
            if cand.is_file():
                items.append(BenchmarkItem(img.stem, img, lambda m=cand: read_mask(m)))
                break
    return items


def _lapa_items(root: Path) -> list[BenchmarkItem]:
    split = root if (root / "images").is_dir() else root / "test"
    images, labels = split / "images", split / "labels"
    if not images.is_dir() or not labels.is_dir():
        raise BenchmarkError(f"{root} is not LaPa: expected {root}/test/images and {root}/test/labels "
                             "(or a split folder holding images/ and labels/)")
    items = []
    for img in _images_in(images):
        label = labels / f"{img.stem}.png"
        if not label.is_file():
            raise BenchmarkError(f"LaPa label {label} is missing for {img}")
        items.append(BenchmarkItem(img.stem, img, lambda p=label: lapa_face(p)))
    return items


def lapa_face(label_path: Path) -> np.ndarray:
    """Visible face of a LaPa label map (ids 1..9) as ``(H, W)`` float32 0/1."""
    from PIL import Image

    with Image.open(label_path) as im:
        ids = np.asarray(im if im.mode in ("L", "P", "I") else im.convert("L"))
    return np.isin(ids, LAPA_FACE_IDS).astype(np.float32)


def celebamask_face(anno_dir: Path, index: int) -> np.ndarray:
    """Visible face of CelebAMask-HQ image ``index`` from its part masks, ``(512, 512)`` float32 0/1
    (painting order and face parts in the module docstring)."""
    from PIL import Image

    top = np.full((512, 512), -1, np.int16)
    folder = anno_dir / str(index // 2000)
    for k, part in enumerate(CELEBAMASK_ORDER):
        path = folder / f"{index:05d}_{part}.png"
        if path.is_file():
            with Image.open(path) as im:
                m = np.asarray(im.convert("L")) >= 128
            if m.shape != top.shape:
                raise BenchmarkError(f"{path} is {m.shape[1]}x{m.shape[0]}, expected 512x512")
            top[m] = k
    face_ids = [k for k, p in enumerate(CELEBAMASK_ORDER) if p in CELEBAMASK_FACE]
    return np.isin(top, face_ids).astype(np.float32)


def _celebamask_items(root: Path) -> list[BenchmarkItem]:
    img_dir, anno = root / "CelebA-HQ-img", root / "CelebAMask-HQ-mask-anno"
    if not img_dir.is_dir() or not anno.is_dir():
        raise BenchmarkError(f"{root} is not CelebAMask-HQ: expected {img_dir} and {anno}")
    items = []
    for img in sorted(_images_in(img_dir), key=lambda p: (len(p.stem), p.stem)):
        if not img.stem.isdigit():
            continue
        idx = int(img.stem)
        items.append(BenchmarkItem(img.stem, img, lambda i=idx: celebamask_face(anno, i)))
    return items


def parse_spec(spec: str) -> tuple[str, Path]:
    """``KIND:DIR`` -> ``(kind, Path(DIR))``; raises :class:`BenchmarkError` naming the allowed kinds."""
    kind, sep, folder = spec.partition(":")
    if not sep or kind not in KINDS or not folder:
        raise BenchmarkError(f"benchmark {spec!r} must be KIND:DIR with KIND one of {', '.join(KINDS)}")
    path = Path(folder)
    if not path.is_dir():
        raise BenchmarkError(f"benchmark folder {path} does not exist")
    return kind, path


def load_benchmark(spec: str, limit: int = 0) -> list[BenchmarkItem]:
    """The photos of a benchmark ``KIND:DIR`` in a stable order (the first ``limit`` when ``limit > 0``)."""
    kind, root = parse_spec(spec)
    reader = {"folder": _folder_items, "lapa": _lapa_items, "celebamask-hq": _celebamask_items}[kind]
    items = reader(root)
    if not items:
        layouts = {"folder": "images/ + masks*/ with matching names, or NAME.jpg beside NAME.mask.png",
                   "lapa": "test/images + test/labels", "celebamask-hq": "CelebA-HQ-img + CelebAMask-HQ-mask-anno"}
        raise BenchmarkError(f"no photos with ground truth in {root} (layout {kind}: {layouts[kind]})")
    return items[:limit] if limit > 0 else items


def iter_benchmark(items: list[BenchmarkItem]) -> Iterator[tuple[BenchmarkItem, np.ndarray, np.ndarray]]:
    """``(item, photo (H, W, 3) uint8, gt (h, w) float32 in [0, 1])`` for each item."""
    for item in items:
        yield item, read_rgb(item.image_path), item.load_gt()
