"""``celebamat faces``: look at a face source (``faces inspect``)."""

from __future__ import annotations

import argparse


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


def _inspect(args: argparse.Namespace) -> int:
    from celebamat.faces import open_source
    from celebamat.faces.inspect import contact_sheet, inspect_source, save_sheet

    options = {}
    if args.occlusion_filter is not None:
        options["occlusion_filter"] = args.occlusion_filter
    source = open_source(args.source, size=args.size, **options)
    report = inspect_source(source, limit=args.limit)
    save_sheet(args.out, contact_sheet(report.records, columns=args.columns, tile=args.tile,
                                       labels=not args.no_labels))
    print(report.summary())
    print(f"contact sheet: {args.out}")
    return 0
