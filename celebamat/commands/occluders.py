"""``celebamat occluders``: generate, import, sheet and validate occluder libraries."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from celebamat.errors import AssetError, CelebAMatError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("occluders", help="generate, import, view and check occluder asset libraries")
    sub = p.add_subparsers(dest="occluders_command", metavar="ACTION")
    sub.required = True

    g = sub.add_parser("generate", help="write the procedural library (reproducible byte for byte)")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--seed", type=int, default=None, help="root seed (default: the committed library's)")
    g.add_argument("--kinds", nargs="*", default=None, help="only these kinds")
    g.add_argument("--ids", nargs="*", default=None, help="only these asset ids (e.g. hand-peace_sign-000)")
    g.add_argument("--workers", type=int, default=1, help="processes rendering assets (default: 1)")
    g.set_defaults(func=_generate)

    i = sub.add_parser("import", help="import a dataset by preset, or RGBA cut-outs, image/alpha pairs, photos (rembg)",
                       description="With --preset NAME SRC: read a known dataset as its authors distribute it. "
                       "Without: KIND SRC, a generic folder.")
    i.add_argument("kind", nargs="?", help="occluder kind for a generic folder "
                   "(hand, hair, accessory, translucent, texture); with --preset, the dataset folder")
    i.add_argument("src", nargs="?", help="source folder")
    i.add_argument("--preset", default=None, help="dataset preset: " + ", ".join(_preset_names()))
    i.add_argument("--limit", type=int, default=None, help="with --preset: stop after this many assets")
    i.add_argument("--test-fraction", type=float, default=0.2,
                   help="with --preset: share of groups to the test split where the dataset names none")
    i.add_argument("--workers", type=int, default=1, help="with --preset: processes")
    i.add_argument("--out", required=True, help="output library folder")
    i.add_argument("--format", choices=("auto", "rgba", "pairs"), default="auto",
                   help="rgba: a folder of RGBA PNGs; pairs: image+alpha folders (fg/+alpha/, images/+masks/)")
    i.add_argument("--matte", choices=("rembg", "hands"), default=None,
                   help="rembg: matte plain photos of objects with rembg (u2netp); hands: cut every hand out of "
                   "photos of people or hands (hand landmarks, person mask, closed-form matting; kind hand)")
    i.add_argument("--model", default="u2netp", help="rembg model name (file from $U2NET_HOME)")
    i.add_argument("--subtype", default="imported")
    i.add_argument("--split", choices=("train", "test"), default=None, help="default: about 1 in 5 to test")
    i.add_argument("--license", default="unknown (see source)")
    i.add_argument("--max-size", type=int, default=512, help="longest side of imported assets, px")
    i.add_argument("--overwrite", action="store_true",
                   help="replace assets already in --out (default: keep them and skip their files, naming them)")
    i.set_defaults(func=_import)

    h = sub.add_parser("harvest", help="cut real occluders (hair, hats, glasses, earrings, necklaces) out of "
                       "CelebAMask-HQ photos with a matted alpha")
    h.add_argument("faces", help="celebamask-hq:ROOT")
    h.add_argument("--out", required=True, help="output library folder")
    h.add_argument("--kinds", default=None, help="comma-separated subset of: " + ", ".join(_harvest_kinds()))
    h.add_argument("--max-per-kind", type=int, default=None, help="stop a kind at this many assets")
    h.add_argument("--limit", type=int, default=None, help="look at the first N donor photos only")
    h.add_argument("--test-fraction", type=float, default=0.2, help="share of identities whose occluders are test")
    h.add_argument("--max-size", type=int, default=384, help="longest side of the matted assets, px")
    h.add_argument("--recipe", default=None, help="follow this build recipe's identity splits: a test identity's "
                   "occluders become test assets (validation identities give none)")
    h.add_argument("--workers", type=int, default=1, help="processes (same output whatever the count)")
    h.set_defaults(func=_harvest)

    s = sub.add_parser("sheet", help="contact sheet of a library, by kind and subtype")
    s.add_argument("dirs", nargs="*", help="library folders (default: the bundled library)")
    s.add_argument("--out", required=True, help="output PNG")
    s.set_defaults(func=_sheet)

    v = sub.add_parser("validate", help="check every asset; list faults; exit 1 if any")
    v.add_argument("dirs", nargs="*", help="library folders (default: the bundled library)")
    v.set_defaults(func=_validate)


def _generate(args: argparse.Namespace) -> int:
    from celebamat.occluders import DEFAULT_SEED, generate_library

    try:
        assets = generate_library(args.out, DEFAULT_SEED if args.seed is None else args.seed, kinds=args.kinds,
                                  ids=args.ids, workers=args.workers)
    except ValueError as exc:
        raise CelebAMatError(str(exc)) from exc
    print(f"wrote {len(assets)} assets to {args.out}")
    return 0


def _preset_names() -> list[str]:
    from celebamat.occluders.presets import PRESETS

    return list(PRESETS)


def _harvest_kinds() -> tuple[str, ...]:
    from celebamat.occluders.harvest import HARVEST_KINDS

    return HARVEST_KINDS


def _print_report(report, out: str, what: str) -> None:
    for item, reason in report.skipped:
        print(f"skipped {item}: {reason}")
    for name, c in sorted(report.counts().items()):
        print(f"{name:28s} train {c['train']:5d}  test {c['test']:5d}")
    per = report.seconds / max(len(report.assets), 1)
    print(f"{what} {len(report.assets)} assets into {out} ({len(report.skipped)} skipped, "
          f"{report.seconds:.1f} s, {per:.2f} s per asset)")


def _check_counts(args: argparse.Namespace) -> None:
    """The numeric options of import and harvest, each in range (named when not)."""
    from celebamat.commands import check_number

    for option in ("limit", "max_per_kind", "workers", "max_size"):
        check_number(f"--{option.replace('_', '-')}", getattr(args, option, None), 1)
    check_number("--test-fraction", args.test_fraction, 0.0, 1.0)


def _harvest(args: argparse.Namespace) -> int:
    from celebamat.dataset.scan import build_splits_of
    from celebamat.occluders.harvest import HARVEST_KINDS, harvest

    _check_counts(args)
    if not args.faces.startswith("celebamask-hq:"):
        raise AssetError(f"harvest reads CelebAMask-HQ: give celebamask-hq:ROOT, not {args.faces!r}")
    kinds = HARVEST_KINDS if args.kinds is None else tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    root = args.faces.removeprefix("celebamask-hq:")
    splits = build_splits_of(args.recipe, root) if args.recipe else None
    report = harvest(root, args.out, kinds=kinds, max_per_kind=args.max_per_kind, limit=args.limit,
                     test_fraction=args.test_fraction, max_side=args.max_size, build_splits=splits,
                     workers=args.workers)
    _print_report(report, args.out, "harvested")
    print(f"{report.donors} donors read; matting {report.matting_seconds:.1f} s")
    if not report.assets:
        raise AssetError(f"nothing harvested from {args.faces}")
    return 0


def _import(args: argparse.Namespace) -> int:
    """Exit code 0: every file imported; 1: some skipped (each named with its reason); 2 (raised): none."""
    from celebamat.occluders import find_pairs, import_pairs, import_photos_rembg, import_rgba_folder
    from celebamat.utils.io import output_dir

    _check_counts(args)
    if args.preset is not None:
        from celebamat.occluders.presets import import_preset

        src = args.src or args.kind
        if src is None or (args.src is not None and args.kind is not None):
            raise AssetError("with --preset give exactly one folder: "
                             "celebamat occluders import --preset NAME SRC --out DIR")
        output_dir(args.out)
        report = import_preset(args.preset, src, args.out, limit=args.limit, test_fraction=args.test_fraction,
                               max_side=min(args.max_size, 384), workers=args.workers,
                               overwrite=getattr(args, "overwrite", False))
        _print_report(report, args.out, "imported")
        if not report.assets:
            raise AssetError(f"nothing imported from {src}")
        return 1 if report.skipped else 0
    if args.kind not in ("hand", "hair", "accessory", "translucent", "texture") or args.src is None:
        raise AssetError(f"give KIND SRC (kind one of hand, hair, accessory, translucent, texture; got {args.kind!r}) "
                         "or --preset NAME SRC")

    kw = dict(subtype=args.subtype, license=args.license, split=args.split, max_size=args.max_size,
              overwrite=getattr(args, "overwrite", False))
    if Path(args.src).is_dir():
        output_dir(args.out)
    if args.matte == "hands":
        if args.kind != "hand":
            raise AssetError(f"--matte hands cuts hands: give the kind hand, not {args.kind!r}")
        from celebamat.occluders.handcut import cut_hands_from_photos

        assets, skipped = cut_hands_from_photos(args.src, args.out, **{**kw, "subtype": (
            "photo" if args.subtype == "imported" else args.subtype)})
    elif args.matte == "rembg":
        assets, skipped = import_photos_rembg(args.kind, args.src, args.out, model=args.model, **kw)
    elif args.format == "pairs" or (args.format == "auto" and find_pairs(args.src)):
        assets, skipped = import_pairs(args.kind, args.src, args.out, **kw)
    else:
        assets, skipped = import_rgba_folder(args.kind, args.src, args.out, **kw)
    for path, fault in skipped:
        print(f"skipped {path}: {fault}")
    print(f"imported {len(assets)} assets into {args.out} ({len(skipped)} skipped)")
    if not assets:
        raise AssetError(f"nothing imported from {args.src}")
    return 1 if skipped else 0


def _sheet(args: argparse.Namespace) -> int:
    from celebamat.occluders import load_library, render_sheet

    lib = load_library(args.dirs or None)
    for path, fault in lib.skipped:
        print(f"skipped {path}: {fault}")
    render_sheet(lib, args.out)
    print(f"contact sheet of {len(lib.assets)} assets written to {args.out}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from celebamat.occluders import load_library

    lib = load_library(args.dirs or None)
    for kind, c in sorted(lib.counts().items()):
        print(f"{kind:12s} train {c['train']:4d}  test {c['test']:4d}")
    for path, fault in lib.skipped:
        print(f"FAULT {fault}")
    print(f"{len(lib.assets)} assets valid, {len(lib.skipped)} faulty")
    return 1 if lib.skipped else 0
