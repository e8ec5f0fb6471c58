"""``celebamat verify``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="check a built dataset: checksums, row counts, decoding, alpha semantics, card",
        description="Verify a dataset folder against its manifest and card. Exits non-zero naming the first "
        "fault of each kind.",
    )
    p.add_argument("path", help="dataset folder")
    p.add_argument("--quick", action="store_true", help="checksums and counts only, no image decoding")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from celebamat.dataset.verify import verify_dataset

    report = verify_dataset(args.path, decode=not args.quick, progress=True)
    print(report.summary())
    return 0 if report.ok else 1
