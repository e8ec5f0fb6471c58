"""Publish a FaceMat model folder (or a training run, bundled on the way) to a Hugging Face model repo.

The push is idempotent: the remote tree is listed first and each file of the model folder compared with it
(LFS files by sha256, small text files by their git blob id); only files that are missing or differ go up, in
one commit, and when nothing differs no commit is made. Read the model back with
``--checkpoint hf-hub:NAMESPACE/NAME`` (:func:`facemat.pretrained.resolve_model`).

The weights inherit the terms of their training data (face photos: non-commercial research only), so a repo
is created **private** unless asked otherwise, and pushing privately to an existing public repo is refused.
Errors are the ones of ``celebamat push-to-hub`` (:mod:`celebamat.utils.hub`): no token, a rejected token, no
write access, the Hub unreachable or offline mode; their messages never contain the token.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from celebamat.utils.hub import DEFAULT_ENDPOINT, HubError, remote_holds, resolve_token, translate_hub_error

from .bundle import bundle_run
from .pretrained import MODEL_FILES, PretrainedError

__all__ = ["HubError", "ModelPushResult", "is_model_folder", "push_model"]


@dataclass
class ModelPushResult:
    """What a push did: the commit made (``None`` when the Hub already held the same files), the files sent and
    the files already identical there."""

    repo_id: str
    url: str
    revision: str | None
    private: bool
    commit: str | None = None
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def checkpoint(self) -> str:
        """The ``--checkpoint`` value that reads the pushed model back."""
        rev = f"@{self.revision}" if self.revision not in (None, "main") else ""
        return f"hf-hub:{self.repo_id}{rev}"


def is_model_folder(path: Path) -> bool:
    """A folder written by :func:`facemat.bundle.bundle_run` (not a training run)."""
    import json

    cfg = path / "config.json"
    if not ((path / "model.safetensors").is_file() and cfg.is_file() and (path / "README.md").is_file()):
        return False
    try:
        return json.loads(cfg.read_text()).get("library") == "facemat"
    except ValueError:
        return False


def _same(local: Path, remote) -> bool:
    return remote_holds(local, local.stat().st_size, None, remote)


def push_model(
    path: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = True,
    revision: str | None = None,
    token: str | None = None,
    commit_message: str | None = None,
    endpoint: str | None = None,
    scores: list[str | os.PathLike] | None = None,
    card_info: str | os.PathLike | None = None,
) -> ModelPushResult:
    """Publish the model folder at ``path`` (or bundle the training run at ``path`` first, with ``scores`` and
    ``card_info`` for its card) to the model repo ``repo_id`` (``NAMESPACE/NAME``).

    ``private`` (default True) applies when the repo is created; an existing public repo is refused unless
    ``private=False``. ``revision`` is a branch (created from ``main`` if missing). ``token`` defaults to
    ``HF_TOKEN`` or the saved login; ``endpoint`` to ``HF_ENDPOINT`` or huggingface.co.
    """
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise HubError(f"--repo-id must be NAMESPACE/NAME (your user or organisation name, then the model), "
                       f"got {repo_id!r}")
    root = Path(path)
    if not root.exists():
        raise PretrainedError(f"{root} does not exist: pass a model folder (facemat-bundle) or a training run")
    token = resolve_token(token)
    with tempfile.TemporaryDirectory(prefix="facemat-push-") as tmp:
        if root.is_dir() and is_model_folder(root):
            if scores or card_info:
                raise PretrainedError(f"{root} is already bundled: --scores and --card-info apply to a training "
                                      "run (bundle it again with facemat-bundle to change its card)")
            folder = root
        else:
            folder = bundle_run(root, Path(tmp) / repo_id.split("/")[1], scores=scores, card_info=card_info).folder
        return _push_folder(folder, repo_id, private, revision, token, commit_message, endpoint)


def _push_folder(folder: Path, repo_id: str, private: bool, revision: str | None, token: str,
                 commit_message: str | None, endpoint: str | None) -> ModelPushResult:
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import RemoteEntryNotFoundError, RevisionNotFoundError

    files = [f for f in MODEL_FILES if (folder / f).is_file()]
    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    api = HfApi(endpoint=endpoint, token=token)
    branch = revision or "main"
    result = ModelPushResult(repo_id, f"{endpoint}/{repo_id}", revision, private)
    if revision not in (None, "main"):
        result.url += f"/tree/{revision}"
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.model_info(repo_id)
        result.private = bool(info.private)
        if private and info.private is False:
            raise HubError(
                f"model {repo_id} already exists and is public; refusing to publish there by default (weights "
                "trained on face photos are for non-commercial research only). Make the repo private in its "
                "settings, push to another repo, or pass --public if these weights may be public."
            )
        if branch != "main":
            api.create_branch(repo_id, branch=branch, exist_ok=True)
        try:
            tree = list(api.list_repo_tree(repo_id, revision=branch, recursive=True))
        except (RevisionNotFoundError, RemoteEntryNotFoundError):
            tree = []
        remote = {f.path: f for f in tree if getattr(f, "blob_id", None) is not None}
        todo = [f for f in files if not _same(folder / f, remote.get(f))]
        result.skipped = [f for f in files if f not in todo]
        if todo:
            ops = [CommitOperationAdd(path_in_repo=f, path_or_fileobj=str(folder / f)) for f in todo]
            commit = api.create_commit(repo_id, ops, revision=branch,
                                       commit_message=commit_message or "Upload FaceMat model")
            result.commit = commit.oid
            result.uploaded = todo
    except HubError:
        raise
    except Exception as exc:
        translated = translate_hub_error(exc, "model", repo_id, endpoint, token, "Run the same command again.")
        if translated is None:
            raise
        raise translated from exc
    return result
