"""``celebamat preview``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "preview",
        help="render a sheet of fresh composites (image, alpha, overlay) without building",
        description="Sample and render N composites from a recipe and write a contact sheet: composite, alpha "
        "and an overlay (green = visible skin, red = occluders) per sample, with the occluder kinds named.",
    )
    p.add_argument("--recipe", default="demo", help="bundled recipe name or path (default: demo)")
    p.add_argument("--faces", default=None, help="face source (overrides the recipe)")
    p.add_argument("--n", type=int, default=24, help="number of samples (default: 24)")
    p.add_argument("--seed", type=int, default=None, help="root seed (default: the recipe's)")
    p.add_argument("--split", default="train", choices=("train", "validation", "test"),
                   help="which split's occluder assets to use (default: train)")
    p.add_argument("--out", required=True, help="output PNG")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from celebamat.commands import check_number
    from celebamat.dataset.recipe import load_recipe
    from celebamat.dataset.preview import preview_recipe

    check_number("--n", args.n, 1)

    recipe = load_recipe(args.recipe).with_overrides(faces=args.faces, seed=args.seed)
    path, skipped = preview_recipe(recipe, args.out, n=args.n, split=args.split)
    for s in skipped:
        print(f"skipped face {s}")
    print(f"wrote {path}")
    return 1 if skipped else 0  # 1: written, but some faces were skipped (named above)
