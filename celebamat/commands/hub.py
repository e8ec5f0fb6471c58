"""``celebamat push-to-hub``: publish a built dataset folder to the Hugging Face Hub (private by default)."""

from __future__ import annotations

import argparse
import sys

from celebamat.utils.hub import add_push_arguments, confirm_public

_PUBLIC_WARNING = (
    "You asked for a PUBLIC dataset repo. Data derived from CelebAMask-HQ may not be redistributed "
    "(non-commercial research only); publish it only if every face source allows it."
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "push-to-hub",
        help="verify a built dataset and upload it to a Hugging Face dataset repo (private by default)",
        description="Verify DIR and upload its shards, card, preview and manifest to the dataset repo "
        "NAMESPACE/NAME. Resumable: a re-run uploads only what is missing, and makes no commit when the Hub "
        "already holds the same files. HF_ENDPOINT selects another Hub-compatible server.",
    )
    p.add_argument("dir", metavar="DIR", help="dataset folder written by `celebamat build`")
    add_push_arguments(p, "dataset")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from celebamat.dataset.hub import push_to_hub

    if args.public and not confirm_public(_PUBLIC_WARNING, args.yes):
        print("Not pushed.", file=sys.stderr)
        return 1
    result = push_to_hub(
        args.dir,
        args.repo_id,
        private=not args.public,
        revision=args.revision,
        token=args.token,
        commit_message=args.commit_message,
    )
    if result.commits:
        print(f"Pushed {len(result.uploaded)} file(s) in {len(result.commits)} commit(s)"
              + (f", removed {len(result.deleted)} stale file(s)" if result.deleted else "")
              + f"; {len(result.skipped)} file(s) were already up to date.")
    else:
        print(f"Nothing to push: the Hub already holds all {len(result.skipped)} file(s); no commit made.")
    print(f"Dataset ({'private' if result.private else 'public'}): {result.url}")
    print("Load it with:")
    print("    import datasets")
    print(f"    ds = {result.load_line}")
    if result.private:
        print("(private repo: readers need a token with access, via HF_TOKEN or `hf auth login`)")
    return 0
