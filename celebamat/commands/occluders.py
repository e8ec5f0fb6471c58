"""``celebamat occluders``: generate, import, sheet and validate occluder libraries."""

from __future__ import annotations

import argparse
import logging

from celebamat.errors import AssetError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    p = subparsers.add_parser("occluders", help="generate, import, view and check occluder asset libraries")
    sub = p.add_subparsers(dest="occluders_command", metavar="ACTION")
    sub.required = True

    g = sub.add_parser("generate", help="write the procedural library (reproducible byte for byte)")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--seed", type=int, default=None, help="root seed (default: the committed library's)")
    g.add_argument("--kinds", nargs="*", default=None, help="only these kinds")
    g.set_defaults(func=_generate)

    i = sub.add_parser("import", help="import RGBA cut-outs, image/alpha pairs or photos (rembg)")
    i.add_argument("kind", choices=("hand", "hair", "accessory", "translucent", "texture"))
    i.add_argument("src", help="source folder")
    i.add_argument("--out", required=True, help="output library folder")
    i.add_argument("--format", choices=("auto", "rgba", "pairs"), default="auto",
                   help="rgba: a folder of RGBA PNGs; pairs: image+alpha folders (fg/+alpha/, images/+masks/)")
    i.add_argument("--matte", choices=("rembg",), default=None, help="matte plain photos with rembg (u2netp)")
    i.add_argument("--model", default="u2netp", help="rembg model name (file from $U2NET_HOME)")
    i.add_argument("--subtype", default="imported")
    i.add_argument("--split", choices=("train", "test"), default=None, help="default: about 1 in 5 to test")
    i.add_argument("--license", default="unknown (see source)")
    i.add_argument("--max-size", type=int, default=512, help="longest side of imported assets, px")
    i.set_defaults(func=_import)

    s = sub.add_parser("sheet", help="contact sheet of a library, by kind and subtype")
    s.add_argument("dirs", nargs="*", help="library folders (default: the bundled library)")
    s.add_argument("--out", required=True, help="output PNG")
    s.set_defaults(func=_sheet)

    v = sub.add_parser("validate", help="check every asset; list faults; exit 1 if any")
    v.add_argument("dirs", nargs="*", help="library folders (default: the bundled library)")
    v.set_defaults(func=_validate)


def _generate(args: argparse.Namespace) -> int:
    from celebamat.occluders import DEFAULT_SEED, generate_library

    assets = generate_library(args.out, DEFAULT_SEED if args.seed is None else args.seed, kinds=args.kinds)
    print(f"wrote {len(assets)} assets to {args.out}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from celebamat.occluders import find_pairs, import_pairs, import_photos_rembg, import_rgba_folder

    kw = dict(subtype=args.subtype, license=args.license, split=args.split, max_size=args.max_size)
    if args.matte == "rembg":
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
    return 0


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
