"""``celebamat faces``: look at a face source (``faces inspect``) and score skin estimators (``faces score-skin``)."""

from __future__ import annotations

import argparse

from celebamat.faces.estimators import DEFAULT_SKIN_MODEL


def register(subparsers) -> None:
    p = subparsers.add_parser("faces", help="inspect face sources (demo, folder:DIR, celebamask-hq:ROOT)")
    sub = p.add_subparsers(dest="faces_command", metavar="ACTION")
    sub.required = True
    q = sub.add_parser(
        "inspect",
        help="contact sheet of aligned faces with skin mattes and anchors, and a summary of skipped faces",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    q.add_argument("source", help="face source spec: demo, folder:DIR or celebamask-hq:ROOT")
    q.add_argument("--limit", type=int, default=None, help="load at most N faces (in key order)")
    q.add_argument("--size", type=int, default=512, help="side of the aligned faces, pixels")
    q.add_argument("--out", required=True, help="contact sheet to write (PNG)")
    q.add_argument("--columns", type=int, default=4, help="faces per row of the sheet")
    q.add_argument("--tile", type=int, default=384, help="side of one face on the sheet, pixels")
    q.add_argument("--no-labels", action="store_true", help="draw anchor points without their names")
    q.add_argument("--occlusion-filter", type=float, default=None,
                   help="celebamask-hq: skip faces whose eyeglasses/hat cover more than this fraction")
    q.set_defaults(func=_inspect)
    r = sub.add_parser(
        "score-skin",
        help="score a skin estimator against true skin (CelebAMask-HQ part masks): IoU, precision, recall",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    r.add_argument("source", help="a source with true skin masks: celebamask-hq:ROOT")
    r.add_argument("--skin-model", default=DEFAULT_SKIN_MODEL,
                   help="the estimator to score: 'bundled' (facemat's bundled student, the default estimator of "
                   "folder: photos; 'bundled:NAME' for another bundled model), 'landmarks' (the hand-written "
                   "landmark estimator), or a FaceMat checkpoint (.safetensors or .onnx)")
    r.add_argument("--limit", type=int, default=None, help="score at most N faces (in key order)")
    r.add_argument("--size", type=int, default=512, help="side of the aligned faces, pixels")
    r.add_argument("--out", default=None, help="sheet to write (PNG): each face, and the estimate with misses "
                   "in blue and false skin in red")
    r.add_argument("--tile", type=int, default=256, help="side of one face on the sheet, pixels")
    r.set_defaults(func=_score_skin)


def _inspect(args: argparse.Namespace) -> int:
    from celebamat.commands import check_number
    from celebamat.faces import open_source
    from celebamat.faces.inspect import contact_sheet, inspect_source, save_sheet

    for option, value in (("--limit", args.limit), ("--size", args.size), ("--columns", args.columns),
                          ("--tile", args.tile)):
        check_number(option, value, 1)
    check_number("--occlusion-filter", args.occlusion_filter, 0.0, 1.0)

    options = {}
    if args.occlusion_filter is not None:
        options["occlusion_filter"] = args.occlusion_filter
    source = open_source(args.source, size=args.size, **options)
    report = inspect_source(source, limit=args.limit)
    save_sheet(args.out, contact_sheet(report.records, columns=args.columns, tile=args.tile,
                                       labels=not args.no_labels))
    print(report.summary())
    print(f"contact sheet: {args.out}")
    return 1 if report.skipped else 0  # 1: written, but some faces were skipped (named above)


def _score_skin(args: argparse.Namespace) -> int:
    from celebamat.commands import check_number
    from celebamat.faces import open_source
    from celebamat.faces.estimators import skin_estimator

    for option, value in (("--limit", args.limit), ("--size", args.size), ("--tile", args.tile)):
        check_number(option, value, 1)
    from celebamat.faces.inspect import save_sheet
    from celebamat.faces.score import score_sheet, score_skin

    source = open_source(args.source, size=args.size)
    report = score_skin(source, skin_estimator(args.skin_model), limit=args.limit,
                        tile=args.tile if args.out else 0, progress=True)
    print(report.table())
    if args.out:
        save_sheet(args.out, score_sheet(report))
        print(f"sheet: {args.out}")
    return 0 if report.rows else 1
