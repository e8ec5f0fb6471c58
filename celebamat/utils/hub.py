"""What every push to the Hugging Face Hub shares: the endpoint, the token lookup and the errors users see.

On the ground floor so that both push commands use one wording: ``celebamat push-to-hub`` (datasets,
:mod:`celebamat.dataset.hub`) and ``facemat-push`` (models, :mod:`facemat.hub`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

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


def git_blob_id(path: Path) -> str:
    """The git blob id (sha1 of ``blob <size>\\0<data>``) the Hub reports for a file stored without LFS."""
    data = Path(path).read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def remote_holds(local: Path, size: int, sha256: str | None, remote) -> bool:
    """Whether a remote ``RepoFile`` already holds the local file (of ``size`` bytes; ``sha256`` when known, else
    read on demand): same size, then the LFS sha256 or the git blob id. ``remote`` may be ``None``."""
    if remote is None or remote.size != size:
        return False
    if remote.lfs is not None:
        from celebamat.utils.io import sha256_file

        return remote.lfs.sha256 == (sha256 or sha256_file(local))
    return remote.blob_id == git_blob_id(local)


def translate_hub_error(exc: BaseException, kind: str, repo_id: str, endpoint: str, token: str,
                        retry: str) -> HubError | None:
    """Map a client exception (or one in its cause chain) from a push to the ``kind`` repo ``repo_id`` (dataset,
    model) to a :class:`HubError` saying what to do, the token scrubbed from every message; ``retry`` ends the
    messages of failures worth retrying. ``None`` when it is none of the client's errors."""
    import httpx2
    from huggingface_hub.errors import (
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    def scrub(text: str) -> str:
        return text.replace(token, "***") if token else text

    seen = exc
    while seen is not None:
        if isinstance(seen, OfflineModeIsEnabled):
            return HubConnectionError("HF_HUB_OFFLINE is set: unset it to push to the Hub.")
        if isinstance(seen, httpx2.TransportError):  # refused, reset, timed out, cut off mid-answer
            return HubConnectionError(
                f"cannot reach the Hub at {endpoint} ({type(seen).__name__}: {scrub(str(seen))}). Check your "
                f"network connection (and HF_ENDPOINT if you set it). {retry}"
            )
        if isinstance(seen, HfHubHTTPError) and seen.response is not None:
            status = seen.response.status_code
            server_msg = scrub(seen.server_message or "")
            if status == 401 and not isinstance(seen, (RepositoryNotFoundError, RevisionNotFoundError)):
                return HubAuthError(
                    f"the Hub at {endpoint} rejected the token (401 {server_msg or 'unauthorized'}). It may be "
                    f"mistyped, revoked or expired: create a token with write access at {TOKENS_PAGE} and pass it "
                    "with --token, HF_TOKEN or `hf auth login`."
                )
            if status == 403:
                return HubPermissionError(
                    f"no write access to {kind} {repo_id} (403 {server_msg or 'forbidden'}). Use a token with write "
                    f"permission (a 'write' token, or a fine-grained one allowing writes to {repo_id.split('/')[0]}), "
                    "or push to a namespace you own."
                )
            if isinstance(seen, RevisionNotFoundError):
                return HubError(f"revision not found in {kind} {repo_id}: {server_msg}. Check --revision.")
            if isinstance(seen, RepositoryNotFoundError) or status in (401, 404):
                return HubPermissionError(
                    f"{kind} {repo_id} not found or not visible to this token ({status}). Check --repo-id and that "
                    "the token belongs to an account that may write there."
                )
            return HubError(f"the Hub at {endpoint} answered {status} for {kind} {repo_id}: {server_msg or seen}. "
                            f"{retry}")
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, (ValueError, RuntimeError, OSError)):  # malformed answers, failed uploads, unreadable files
        return HubError(f"push to {kind} {repo_id} failed: {scrub(str(exc))}. {retry}")
    return None

