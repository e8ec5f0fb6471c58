"""Matting sets as distributed (Semantic Image Matting, AM-2k, Composition-1k) and Figaro1k hair."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from celebamat.occluders.presets.base import Item, Skip, images_in, pair_loader, read_gray

#: Semantic Image Matting (SIMD) classes -> (kind, subtype), or None with the reason they are left out.
SIM_CLASSES: dict[str, tuple[str, str] | str] = {
    "defocus": ("accessory", "defocused_object"),
    "fire": ("translucent", "fire"),
    "fur": ("accessory", "fur"),
    "glass_ice": ("translucent", "glass"),
    "hair_easy": "portrait hair matte (a second person's head), not an occluder",
    "hair_hard": "portrait hair matte (a second person's head), not an occluder",
    "insect": ("accessory", "insect"),
    "motion": ("accessory", "motion_blurred_object"),
    "net": ("translucent", "net"),
    "plant_flower": ("accessory", "plant"),
    "plant_leaf": ("accessory", "plant"),
    "plant_tree": ("accessory", "plant"),
    "plastic_bag": ("translucent", "plastic"),
    "sharp": ("accessory", "object"),
    "smoke_cloud": ("translucent", "smoke"),
    "spider_web": ("translucent", "net"),
    "texture_holed": ("texture", "holed"),
    "texture_smooth": ("texture", "smooth"),
    "water_drop": ("translucent", "water"),
    "water_spray": ("translucent", "water"),
}
SIM_TEST_LIST = "SIMD_composition_test_filelist.txt"


def _pairs(fg_dir: Path, alpha_dir: Path) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """(foreground, alpha) files with the same stem, and foregrounds without an alpha."""
    alphas = {p.stem: p for p in images_in(alpha_dir)}
    pairs, lone = [], []
    for p in images_in(fg_dir):
        (pairs.append((p, alphas[p.stem])) if p.stem in alphas else lone.append(p))
    return pairs, lone


def read_sim(src: Path) -> Iterator[Item | Skip]:
    """SIMD (Sun et al., CVPR 2021): ``<class>/fg/<name>`` with ``<class>/alpha/<name>``, possibly under
    ``train/`` and ``test/``; the test foregrounds are those under ``test/`` or listed in
    ``SIMD_composition_test_filelist.txt`` (``class:fg_name:bg_name`` lines). Kind and subtype by class."""
    test_names: set[tuple[str, str]] = set()
    lst = next(iter(sorted(src.rglob(SIM_TEST_LIST))), None)
    if lst is not None:
        for line in lst.read_text(encoding="utf-8").splitlines():
            parts = line.strip().split(":")
            if len(parts) >= 2:
                test_names.add((parts[0], parts[1]))
    class_dirs = sorted({d.parent for d in src.rglob("fg") if d.is_dir() and (d.parent / "alpha").is_dir()})
    if not class_dirs:
        yield Skip(str(src), "no <class>/fg + <class>/alpha folders (SIMD layout)")
        return
    for cdir in class_dirs:
        cls = cdir.name
        spec = SIM_CLASSES.get(cls)
        if spec is None:
            yield Skip(str(cdir), f"unknown SIMD class {cls!r}")
            continue
        if isinstance(spec, str):
            yield Skip(str(cdir), spec)
            continue
        kind, subtype = spec
        pairs, lone = _pairs(cdir / "fg", cdir / "alpha")
        for p in lone:
            yield Skip(str(p), "no alpha with the same name")
        rel = cdir.relative_to(src).parts
        for fg, a in pairs:
            test = "test" in [r.lower() for r in rel[:-1]] or (cls, fg.name) in test_names
            yield Item(name=f"{cls}_{fg.stem}", load=pair_loader(fg, a), kind=kind, subtype=subtype,
                       group=f"sim:{cls}/{fg.stem}", split="test" if test else "train",
                       tags={"file": f"{cls}/fg/{fg.name}", "class": cls})


def read_am2k(src: Path) -> Iterator[Item | Skip]:
    """AM-2k (Li et al., GFM): ``train/original/*.jpg`` + ``train/mask/*.png`` and ``validation/original`` +
    ``validation/mask`` (the validation animals go to the test split). Kind accessory, subtype animal."""
    root = src / "AM-2k" if (src / "AM-2k").is_dir() else src
    found = False
    for part, split in (("train", "train"), ("validation", "test")):
        orig, mask = root / part / "original", root / part / "mask"
        if not orig.is_dir():
            continue
        found = True
        pairs, lone = _pairs(orig, mask)
        for p in lone:
            yield Skip(str(p), f"no mask in {mask}")
        for img, a in pairs:
            yield Item(name=f"{part}_{img.stem}", load=pair_loader(img, a), kind="accessory", subtype="animal",
                       group=f"am2k:{img.stem}", split=split, tags={"file": f"{part}/original/{img.name}"})
    if not found:
        yield Skip(str(root), "no train/original or validation/original folder (AM-2k layout)")


#: An alpha with more than this share of its object pixels partly transparent is a translucent occluder.
TRANSLUCENT_SHARE = 0.35


def _comp1k_kind(alpha_path: Path) -> tuple[str, str]:
    a = read_gray(alpha_path)
    obj = a > 12
    soft = ((a > 12) & (a < 243)).sum() / max(obj.sum(), 1)
    return ("translucent", "matte") if soft > TRANSLUCENT_SHARE else ("accessory", "object")


def read_comp1k(src: Path) -> Iterator[Item | Skip]:
    """Adobe Composition-1k (Xu et al., Deep Image Matting): ``Combined_Dataset/Training_set/<group>/{fg,alpha}``
    and ``Combined_Dataset/Test_set/<group>/{fg,alpha}`` (groups ``Adobe-licensed images`` and ``Other``). The set
    has no class labels: an alpha that is mostly partial transparency makes a translucent occluder, the rest
    solid objects. Test_set foregrounds go to the test split."""
    root = src / "Combined_Dataset" if (src / "Combined_Dataset").is_dir() else src
    found = False
    for part, split in (("Training_set", "train"), ("Test_set", "test")):
        base = root / part
        if not base.is_dir():
            continue
        for group in sorted(d for d in base.iterdir() if d.is_dir() and (d / "fg").is_dir()):
            found = True
            pairs, lone = _pairs(group / "fg", group / "alpha")
            for p in lone:
                yield Skip(str(p), "no alpha with the same name")
            for fg, a in pairs:
                kind, subtype = _comp1k_kind(a)
                yield Item(name=f"{split}_{fg.stem}", load=pair_loader(fg, a), kind=kind, subtype=subtype,
                           group=f"comp1k:{fg.stem}", split=split,
                           tags={"file": f"{part}/{group.name}/fg/{fg.name}"})
    if not found:
        yield Skip(str(root), "no Training_set/<group>/fg or Test_set/<group>/fg folders (Composition-1k layout)")


#: Figaro1k hairstyle classes by frame number (150 frames each, in this order).
FIGARO_CLASSES = ("straight", "wavy", "curly", "kinky", "braids", "dreadlocks", "short")


def figaro_class(stem: str) -> str | None:
    """Hairstyle class of a Figaro1k file stem such as ``Frame00151-org`` (``None`` when not numbered)."""
    digits = "".join(ch for ch in stem.split("-")[0] if ch.isdigit())
    if not digits:
        return None
    n = int(digits)
    return FIGARO_CLASSES[(n - 1) // 150] if 1 <= n <= 1050 else None


def read_figaro(src: Path) -> Iterator[Item | Skip]:
    """Figaro1k (Svanera et al.): ``Original/{Training,Testing}/FrameNNNNN-org.jpg`` with
    ``GT/{Training,Testing}/FrameNNNNN-gt.pbm`` hair masks; Testing goes to the test split. Subtype by hairstyle
    class (frames 1-150 straight, 151-300 wavy, ... 901-1050 short)."""
    root = src / "Figaro1k" if (src / "Figaro1k").is_dir() else src
    found = False
    for part, split in (("Training", "train"), ("Testing", "test")):
        orig, gt = root / "Original" / part, root / "GT" / part
        if not orig.is_dir():
            continue
        found = True
        masks = {p.stem.replace("-gt", ""): p for p in images_in(gt)}
        for img in images_in(orig):
            base = img.stem.replace("-org", "")
            if base not in masks:
                yield Skip(str(img), f"no {base}-gt mask in {gt}")
                continue
            cls = figaro_class(base)
            if cls is None:
                yield Skip(str(img), "frame number outside 1..1050: hairstyle class unknown")
                continue
            yield Item(name=f"{part.lower()}_{base}", load=pair_loader(img, masks[base]), kind="hair",
                       subtype=cls, group=f"figaro:{base}", split=split,
                       tags={"file": f"Original/{part}/{img.name}", "class": cls, "recolor": "hair"})
    if not found:
        yield Skip(str(root), "no Original/Training or Original/Testing folder (Figaro1k layout)")
