"""Publish a built CelebAMat dataset folder to the Hugging Face Hub (or any Hub-compatible server).

The push is resumable and idempotent:

- The remote tree is listed first and each local file is compared with it (LFS files by sha256, the shards'
  sha256 coming from ``manifest.json``; small text files by their git blob id). Only files that are missing or
  differ are uploaded; when nothing differs no commit is made.
- Shards go up in several commits of at most ``shards_per_commit`` files (or ``bytes_per_commit`` bytes), so
  an interrupted push keeps every batch that was committed; a re-run lists the tree again and sends only what
  is still missing. Blobs uploaded by an unfinished batch are already in the Hub's LFS store: the LFS batch
  endpoint answers them without an upload action, so they are not sent twice either.
- The card (``README.md``), ``preview.png`` and ``manifest.json`` go last, in one commit that also deletes
  remote shards the manifest no longer lists (the card's ``data/<split>-*`` patterns would otherwise pick up a
  stale shard). A reader therefore sees a card only once every shard it names is there.

Datasets derived from CelebAMask-HQ may not be redistributed, so repos are created **private** unless asked
otherwise, and pushing privately to an existing public repo is refused.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from celebamat.errors import CelebAMatError
from celebamat.utils.hub import (  # noqa: F401 (public here too: the dataset push's errors)
    DEFAULT_ENDPOINT,
    TOKENS_PAGE,
    HubAuthError,
    HubConnectionError,
    HubError,
    HubPermissionError,
    remote_holds,
    resolve_token,
    translate_hub_error,
)
from celebamat.utils.io import sha256_file

if TYPE_CHECKING:
    from huggingface_hub import CommitOperationAdd

logger = logging.getLogger(__name__)

#: The files of a dataset folder, besides the shards, that are published (in the last commit).
METADATA_FILES = ("README.md", "preview.png", "manifest.json")

class DatasetNotPublishable(CelebAMatError):
    """The dataset folder fails verification or lacks a file the push needs."""


@dataclass(frozen=True)
class LocalFile:
    """A file to publish: ``path`` in the repo (posix), ``local`` on disk, its ``size`` and ``sha256`` (hex)."""

    path: str
    local: Path
    size: int
    sha256: str


@dataclass
class PushResult:
    """What a push did.

    ``commits`` holds the ids of the commits made (empty when the remote already matched), ``uploaded`` the
    repo paths sent, ``skipped`` the paths already identical on the Hub, ``deleted`` stale remote shards removed.
    """

    repo_id: str
    url: str
    revision: str | None
    private: bool
    commits: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def load_line(self) -> str:
        """The exact Python line that reads the pushed dataset back."""
        return load_dataset_line(self.repo_id, self.revision)


def load_dataset_line(repo_id: str, revision: str | None = None) -> str:
    rev = f", revision={revision!r}" if revision not in (None, "main") else ""
    return f"datasets.load_dataset({repo_id!r}{rev})"


def _verify(path: Path) -> None:
    """Run ``celebamat verify``; refuse a dataset that fails it."""
    try:
        from celebamat.dataset.verify import verify_dataset
    except ModuleNotFoundError as exc:  # verify is being written; the structural checks below still apply
        if exc.name != "celebamat.dataset.verify":
            raise
        logger.warning("celebamat.dataset.verify is not available: only the manifest is checked")
        return
    report = verify_dataset(path, progress=True)
    if not report.ok:
        faults = "\n  ".join(report.faults[:20])
        more = f"\n  ... and {len(report.faults) - 20} more" if len(report.faults) > 20 else ""
        raise DatasetNotPublishable(
            f"{path} fails verification, nothing was pushed:\n  {faults}{more}\n"
            f"Fix the dataset (or rebuild it with `celebamat build`), check it with `celebamat verify {path}`, "
            "then push again."
        )


def local_files(path: str | os.PathLike) -> tuple[list[LocalFile], list[LocalFile]]:
    """The shards (in manifest order) and metadata files of a dataset folder, with their sha256.

    Shard hashes come from ``manifest.json`` (checked by verify); a shard whose size differs from the
    manifest's ``bytes`` is an error.
    """
    root = Path(path)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise DatasetNotPublishable(f"{manifest_path} is missing: is {root} a folder written by `celebamat build`?")
    try:
        manifest = json.loads(manifest_path.read_text())
        entries = manifest["shards"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DatasetNotPublishable(f"{manifest_path} is not a CelebAMat manifest ({exc}); rebuild the dataset")
    shards = []
    for entry in entries:
        rel = str(entry["path"])
        local = root / rel
        if not local.is_file():
            raise DatasetNotPublishable(f"{local} is listed in {manifest_path} but missing; resume the build")
        size = local.stat().st_size
        if "bytes" in entry and int(entry["bytes"]) != size:
            raise DatasetNotPublishable(
                f"{local} has {size} bytes, {manifest_path} says {entry['bytes']}: the shard changed after the "
                "build; rebuild it"
            )
        sha = entry.get("sha256") or sha256_file(local)
        shards.append(LocalFile(Path(rel).as_posix(), local, size, sha))
    meta = []
    for name in METADATA_FILES:
        local = root / name
        if not local.is_file():
            raise DatasetNotPublishable(f"{local} is missing; rebuild the dataset with `celebamat build`")
        meta.append(LocalFile(name, local, local.stat().st_size, sha256_file(local)))
    return shards, meta


def _same(local: LocalFile, remote) -> bool:
    """Whether a remote ``RepoFile`` holds the local file's content."""
    return remote_holds(local.local, local.size, local.sha256, remote)


def _batches(files: list[LocalFile], max_files: int, max_bytes: int) -> list[list[LocalFile]]:
    out: list[list[LocalFile]] = []
    current: list[LocalFile] = []
    size = 0
    for f in files:
        if current and (len(current) >= max_files or size + f.size > max_bytes):
            out.append(current)
            current, size = [], 0
        current.append(f)
        size += f.size
    if current:
        out.append(current)
    return out


def _add_with_known_sha256(f: LocalFile) -> CommitOperationAdd:
    """A ``CommitOperationAdd`` for ``f`` that reuses its sha256 (from the manifest, checked by verify).

    huggingface_hub has no public parameter for a known hash. Its ``UploadInfo`` hashes a file lazily, when the
    LFS upload first needs the hash, and the client itself fills the hash in through the ``sha256`` setter of
    ``CommitOperationAdd.upload_info``: setting it first spares reading every shard once more. Where a version
    lacks that route the client hashes the file itself (slower, same result); setup.cfg bounds the version and
    ``tests/celebamat/hub/test_hub_hashing.py`` checks that shards are not hashed again.
    """
    from huggingface_hub import CommitOperationAdd

    op = CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=str(f.local))
    info = getattr(op, "upload_info", None)
    if info is not None and not getattr(info, "is_hashed", True):
        try:
            info.sha256 = bytes.fromhex(f.sha256)
        except AttributeError:  # a read-only hash: let the client compute it
            pass
    return op


#: How a failed dataset push ends its message: the shards already committed stay.
_RESUME = "Nothing already committed is lost: run the same command again to resume."


def _prepare_repo(api: Any, repo_id: str, private: bool, branch: str, result: PushResult) -> None:
    """Create the dataset repo (private unless asked otherwise) and the branch; refuse a public repo unless
    ``private`` is False."""
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    info = api.dataset_info(repo_id)
    result.private = bool(info.private)
    if private and info.private is False:
        raise HubError(
            f"dataset {repo_id} already exists and is public; refusing to publish there by default (data derived "
            "from CelebAMask-HQ may not be redistributed). Make the repo private in its settings, push to another "
            "repo, or pass --public if this dataset may be public."
        )
    if branch != "main":
        api.create_branch(repo_id, branch=branch, repo_type="dataset", exist_ok=True)


def _upload(api: Any, repo_id: str, branch: str, message: str, shards: list[LocalFile], meta: list[LocalFile],
            result: PushResult, shards_per_commit: int, bytes_per_commit: int) -> None:
    """Upload what the remote tree lacks (shards in batches of commits, then the metadata files) and delete the
    remote shards this dataset no longer has; records commits, uploads, skips and deletions in ``result``."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.errors import RemoteEntryNotFoundError, RevisionNotFoundError

    try:
        tree = list(api.list_repo_tree(repo_id, repo_type="dataset", revision=branch, recursive=True))
    except (RevisionNotFoundError, RemoteEntryNotFoundError):  # a repo without any commit yet
        tree = []
    remote = {f.path: f for f in tree if getattr(f, "blob_id", None) is not None}
    todo_shards = [f for f in shards if not _same(f, remote.get(f.path))]
    todo_meta = [f for f in meta if not _same(f, remote.get(f.path))]
    result.skipped = [f.path for f in shards + meta if f not in todo_shards and f not in todo_meta]
    wanted = {f.path for f in shards}
    stale = sorted(p for p in remote if p.startswith("data/") and p not in wanted)

    batches = _batches(todo_shards, max(1, shards_per_commit), bytes_per_commit)
    done = len(shards) - len(todo_shards)
    for batch in batches:
        ops = [_add_with_known_sha256(f) for f in batch]
        logger.info("uploading shards %d-%d of %d", done + 1, done + len(batch), len(shards))
        commit = api.create_commit(
            repo_id, ops, repo_type="dataset", revision=branch,
            commit_message=f"{message} (shards {done + 1}-{done + len(batch)} of {len(shards)})",
        )
        done += len(batch)
        result.commits.append(commit.oid)
        result.uploaded.extend(f.path for f in batch)
    if todo_meta or stale:
        ops = [CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=str(f.local)) for f in todo_meta]
        ops += [CommitOperationDelete(path_in_repo=p) for p in stale]
        if ops:
            commit = api.create_commit(repo_id, ops, repo_type="dataset", revision=branch, commit_message=message)
            result.commits.append(commit.oid)
            result.uploaded.extend(f.path for f in todo_meta)
            result.deleted.extend(stale)


def push_to_hub(
    path: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = True,
    revision: str | None = None,
    token: str | None = None,
    commit_message: str | None = None,
    endpoint: str | None = None,
    shards_per_commit: int = 16,
    bytes_per_commit: int = 2 * 1024**3,
) -> PushResult:
    """Verify the dataset folder at ``path`` and publish it to the dataset repo ``repo_id`` (``namespace/name``).

    ``private`` (default True) applies when the repo is created; an existing public repo is refused unless
    ``private=False``. ``revision`` is a branch (created from ``main`` if missing). ``token`` defaults to
    ``HF_TOKEN`` or the saved login; ``endpoint`` to ``HF_ENDPOINT`` or huggingface.co. Raises
    :class:`DatasetNotPublishable` before any network call when the dataset fails verification, and
    :class:`HubError` subclasses for Hub failures (their messages never contain the token).
    """
    from huggingface_hub import HfApi

    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise HubError(
            f"--repo-id must be NAMESPACE/NAME (your user or organisation name, then the dataset), got {repo_id!r}"
        )
    root = Path(path)
    if not root.is_dir():
        raise DatasetNotPublishable(f"{root} is not a folder; pass the output folder of `celebamat build`")
    token = resolve_token(token)
    _verify(root)
    shards, meta = local_files(root)

    endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
    api = HfApi(endpoint=endpoint, token=token)
    branch = revision or "main"
    message = commit_message or "Upload CelebAMat dataset"
    result = PushResult(repo_id, f"{endpoint}/datasets/{repo_id}", revision, private)
    if revision not in (None, "main"):
        result.url += f"/tree/{revision}"

    try:
        _prepare_repo(api, repo_id, private, branch, result)
        _upload(api, repo_id, branch, message, shards, meta, result, shards_per_commit, bytes_per_commit)
    except HubError:
        raise
    except Exception as exc:
        translated = translate_hub_error(exc, "dataset", repo_id, endpoint, token, _RESUME)
        if translated is None:
            raise
        raise translated from exc
    return result
