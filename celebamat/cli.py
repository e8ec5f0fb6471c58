"""``celebamat`` command line: parses arguments and calls library functions, nothing more.

Each sub-command lives in ``celebamat/commands/<name>.py`` and exposes ``register(subparsers)``, which adds
its parser and sets ``func`` (a callable taking the parsed namespace and returning an exit code).

Exit codes: 0 done; 1 done, but some inputs were skipped or found faulty (each named with its reason in the
output); 2 nothing done: an error, named in one sentence; 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings

from celebamat import __version__
from celebamat.errors import CelebAMatError

# Order is the order shown by ``celebamat --help``.
_COMMAND_MODULES = (
    "celebamat.commands.build",
    "celebamat.commands.verify",
    "celebamat.commands.preview",
    "celebamat.commands.hub",
    "celebamat.commands.faces",
    "celebamat.commands.occluders",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="celebamat",
        description="Build, check and publish CelebAMat, synthetic face-matting data under occlusion.",
    )
    parser.add_argument("--version", action="version", version=f"celebamat {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _ours_or_warning(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or record.name.split(".")[0] == "celebamat"


def main(argv: list[str] | None = None) -> int:
    # mediapipe's protobuf use warns on every import; it is not the user's concern.
    warnings.filterwarnings("ignore", message=r"SymbolDatabase\.GetPrototype\(\) is deprecated")
    parser = build_parser()
    args = parser.parse_args(argv)
    # Our messages at INFO; third-party libraries (datasets, httpx, ...) only when they warn, unless -v.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(message)s")
    logging.getLogger("celebamat").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    if not args.verbose:
        # Some libraries (Dask's distributed) set their own loggers to INFO; the handler keeps them quiet.
        for handler in logging.getLogger().handlers:
            handler.addFilter(_ours_or_warning)
    try:
        return int(args.func(args) or 0)
    except CelebAMatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        # A file system error the command did not foresee (a full disk, a read-only folder): one sentence.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
