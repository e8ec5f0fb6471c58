"""``facemat-push``: publish a model folder (or a training run, bundled on the way) to a Hub model repo."""

from __future__ import annotations

import argparse
import sys

from celebamat.utils.hub import add_push_arguments, confirm_public

_PUBLIC_WARNING = (
    "You asked for a PUBLIC model repo. Weights follow the terms of their training data: trained on face photos "
    "(CelebAMask-HQ, research sets) they are for non-commercial research only; publish them only if every "
    "training source allows it."
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="facemat-push",
        description="Upload a model folder (facemat-bundle's output; a training run is bundled first) to the "
        "Hugging Face model repo NAMESPACE/NAME: model.safetensors, config.json, model.onnx and the README.md "
        "card. Private by default; idempotent: files the Hub already holds are not sent, and no commit is made "
        "when nothing differs. Read it back with --checkpoint hf-hub:NAMESPACE/NAME. HF_ENDPOINT selects another "
        "Hub-compatible server.",
    )
    p.add_argument("path", metavar="RUN_OR_MODEL_DIR", help="model folder, or facemat-train run folder")
    add_push_arguments(p, "model")
    p.add_argument("--scores", action="append", default=[], metavar="JSON",
                   help="a run only: facemat-eval results for the card (as facemat-bundle)")
    p.add_argument("--card-info", metavar="JSON", help="a run only: card fields (as facemat-bundle)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from celebamat.errors import CelebAMatError
    from facemat.hub import push_model

    try:
        if args.public and not confirm_public(_PUBLIC_WARNING, args.yes):
            print("Not pushed.", file=sys.stderr)
            return 1
        result = push_model(args.path, args.repo_id, private=not args.public, revision=args.revision,
                            token=args.token, commit_message=args.commit_message, scores=args.scores,
                            card_info=args.card_info)
    except (CelebAMatError, ValueError, OSError) as exc:
        print(f"facemat-push: error: {exc}", file=sys.stderr)
        return 2
    if result.commit:
        print(f"Pushed {len(result.uploaded)} file(s) in 1 commit ({', '.join(result.uploaded)}); "
              f"{len(result.skipped)} file(s) were already up to date.")
    else:
        print(f"Nothing to push: the Hub already holds all {len(result.skipped)} file(s); no commit made.")
    print(f"Model ({'private' if result.private else 'public'}): {result.url}")
    print(f"Use it with: facemat-predict PHOTO --checkpoint {result.checkpoint} --out OUT")
    if result.private:
        print("(private repo: readers need a token with access, via HF_TOKEN or `hf auth login`)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
