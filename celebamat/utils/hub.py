"""What every push to the Hugging Face Hub shares: the endpoint, the token lookup and the errors users see.

On the ground floor so that both push commands use one wording: ``celebamat push-to-hub`` (datasets,
:mod:`celebamat.dataset.hub`) and ``facemat-push`` (models, :mod:`facemat.hub`).
"""

from __future__ import annotations

import os

from celebamat.errors import CelebAMatError

DEFAULT_ENDPOINT = "https://huggingface.co"
TOKENS_PAGE = "https://huggingface.co/settings/tokens"


class HubError(CelebAMatError):
    """A push that failed at the Hub; the message says what happened and what to do."""


class HubAuthError(HubError):
    """No token, or a token the Hub rejected."""


class HubPermissionError(HubError):
    """The token is valid but may not write to the repo."""


class HubConnectionError(HubError):
    """The Hub (or ``HF_ENDPOINT``) could not be reached."""


def resolve_token(token: str | None = None) -> str:
    """The token to push with: ``token``, else ``HF_TOKEN``, else the one saved by ``hf auth login``."""
    if token:
        return token
    from huggingface_hub import get_token

    found = os.environ.get("HF_TOKEN") or get_token()
    if not found:
        raise HubAuthError(
            "no Hugging Face token: pass --token TOKEN, set the HF_TOKEN environment variable, or run "
            f"`hf auth login` once. Create a token with write access at {TOKENS_PAGE}."
        )
    return found


def add_push_arguments(parser, kind: str) -> None:
    """The options both push commands share: ``--repo-id``, ``--private``/``--public``, ``--revision``,
    ``--token``, ``--commit-message`` and ``--yes``; ``kind`` names the repo type in the help (dataset, model)."""
    parser.add_argument("--repo-id", required=True, metavar="NAMESPACE/NAME", help=f"target {kind} repo")
    vis = parser.add_mutually_exclusive_group()
    vis.add_argument("--private", dest="public", action="store_false", default=False,
                     help="create the repo private (default)")
    vis.add_argument("--public", dest="public", action="store_true",
                     help="create the repo public (asks for confirmation unless --yes)")
    parser.add_argument("--revision", metavar="BRANCH", default=None, help="branch to push to (default: main)")
    parser.add_argument("--token", default=None,
                        help="Hub token with write access (default: HF_TOKEN, then the `hf auth login` token)")
    parser.add_argument("--commit-message", default=None, metavar="MSG", help="message of the (final) commit")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")


def confirm_public(warning: str, assume_yes: bool) -> bool:
    """Print ``warning`` and ask before a public push (``True`` to go on); without a terminal, ``--yes`` is
    needed."""
    import sys

    print(warning, file=sys.stderr)
    if assume_yes:
        return True
    if sys.stdin is None or not sys.stdin.isatty():
        raise CelebAMatError("--public needs confirmation and there is no terminal to ask on: add --yes to confirm")
    return input("Push publicly? [y/N] ").strip().lower() in ("y", "yes")
