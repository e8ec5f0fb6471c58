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
