"""push_to_hub against the local Hub server, with the real huggingface_hub client and datasets."""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hub_tokens import TOKEN_ALICE, TOKEN_BOB, TOKEN_READER
from tiny_dataset import make_tiny_dataset, manifest, published_files

from celebamat.dataset.hub import (
    DatasetNotPublishable,
    HubAuthError,
    HubConnectionError,
    HubError,
    HubPermissionError,
    push_to_hub,
)

# Digest of every row of every split, decoded: images and mattes as pixel arrays, the rest as values.
_READ_BACK = r"""
import hashlib, json, sys
import numpy as np
import datasets

def digest(rows):
    out = []
    for row in rows:
        h = hashlib.sha256()
        for key in sorted(row):
            value = row[key]
            if hasattr(value, "mode"):  # a decoded PIL image
                h.update(f"{key}:{value.mode}:{value.size}".encode())
                h.update(np.asarray(value).tobytes())
            else:
                value = np.asarray(value).tolist() if hasattr(value, "shape") else value
                h.update(f"{key}:{json.dumps(value, sort_keys=True, default=str)}".encode())
        out.append([row["id"], h.hexdigest(), row["image"].mode, row["alpha"].mode])
    return out

result = {}
for name, args, kwargs in json.loads(sys.argv[1]):
    ds = datasets.load_dataset(*args, **kwargs)
    result[name] = {split: {"features": str(ds[split].features), "rows": digest(ds[split])} for split in ds}
print("RESULT" + json.dumps(result))
"""


def read_back(loads: list, env: dict) -> dict:
    """Run ``datasets.load_dataset`` in a fresh process (fresh cache, given HF_ENDPOINT/HF_TOKEN)."""
    proc = subprocess.run([sys.executable, "-c", _READ_BACK, json.dumps(loads)], env=env, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])


def remote_files(hub, repo_id: str, branch: str = "main") -> dict[str, str]:
    """repo path -> sha256 of the content the server holds at the head of ``branch``."""
    head = hub.commits(repo_id, branch)[0]
    out = {}
    for path, entry in head.files.items():
        data = entry.content if entry.content is not None else hub.state.lfs[(repo_id, entry.sha256)]
        out[path] = hashlib.sha256(data).hexdigest()
    return out


def local_files(root: Path) -> dict[str, str]:
    """repo path -> sha256 of every file a push of ``root`` publishes."""
    return {p: hashlib.sha256((root / p).read_bytes()).hexdigest() for p in published_files(root)}


@pytest.mark.slow
def test_push_then_load_by_repo_id_gives_the_local_rows(hub, tiny_dataset, tmp_path):
    result = push_to_hub(tiny_dataset, "alice/celebamat-tiny", token=TOKEN_ALICE, endpoint=hub.url)

    assert result.url == f"{hub.url}/datasets/alice/celebamat-tiny"
    assert result.private is True and hub.state.repos["alice/celebamat-tiny"].private is True
    assert result.load_line == "datasets.load_dataset('alice/celebamat-tiny')"
    assert sorted(result.uploaded) == sorted(local_files(tiny_dataset)) and result.skipped == []
    # Everything is on the server, byte for byte, and the card came last.
    remote = remote_files(hub, "alice/celebamat-tiny")
    remote.pop(".gitattributes")
    assert remote == local_files(tiny_dataset)
    assert {p for p in hub.commits("alice/celebamat-tiny")[0].files} - {
        p for p in hub.commits("alice/celebamat-tiny")[1].files} == {"README.md", "preview.png", "manifest.json"}
    assert len(hub.state.requests) > 0 and not any("xet" in path for _, path in hub.state.requests)

    reader = tmp_path / "reader_home"  # a fresh cache: everything read comes from the server
    env = dict(os.environ, HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN_ALICE, HF_HOME=str(reader),
               HF_HUB_CACHE=str(reader / "hub"), HF_DATASETS_CACHE=str(reader / "datasets"))
    got = read_back([
        ["local", [str(tiny_dataset)], {}],
        ["hub", ["alice/celebamat-tiny"], {}],
        ["hub_streaming", ["alice/celebamat-tiny"], {"streaming": True}],
    ], env)
    served = [p for m, p in hub.state.requests if m == "GET" and "/resolve/" in p and p.endswith(".parquet")]
    shards = manifest(tiny_dataset)["shards"]
    assert len(served) >= 2 * len(shards)  # the eager and the streaming load both read every shard from the server
    assert set(got["local"]) == {"train", "validation", "test"}
    counts = manifest(tiny_dataset)["splits"]
    assert counts == {"train": 10, "validation": 1, "test": 1}
    assert {s: len(got["local"][s]["rows"]) for s in got["local"]} == counts
    assert got["hub"] == got["local"]
    for split in got["local"]:
        assert got["hub_streaming"][split]["rows"] == got["local"][split]["rows"]
    assert {mode for rows in got["hub"].values() for _, _, _, mode in rows["rows"]} == {"L"}
    assert {mode for rows in got["hub"].values() for _, _, mode, _ in rows["rows"]} == {"RGB"}


def test_repush_of_unchanged_dataset_makes_no_commit(hub, tiny_dataset):
    first = push_to_hub(tiny_dataset, "alice/ds", token=TOKEN_ALICE, endpoint=hub.url)
    commits = len(hub.commits("alice/ds"))
    uploads = len(hub.state.lfs_uploads)
    seen = len(hub.state.requests)

    again = push_to_hub(tiny_dataset, "alice/ds", token=TOKEN_ALICE, endpoint=hub.url)

    assert first.commits and again.commits == [] and again.uploaded == []
    assert sorted(again.skipped) == sorted(first.uploaded)
    assert len(hub.commits("alice/ds")) == commits
    assert len(hub.state.lfs_uploads) == uploads
    second = hub.state.requests[seen:]
    assert second and not any(m == "PUT" or "/commit/" in p or "/preupload/" in p for m, p in second)


def test_interrupted_push_resumes_with_only_the_missing_files(hub, tiny_dataset):
    hub.state.fail_lfs_uploads_after = 3  # 7 shards + preview.png go to LFS: the 4th upload fails
    with pytest.raises(HubError) as info:
        push_to_hub(tiny_dataset, "alice/ds", token=TOKEN_ALICE, endpoint=hub.url, shards_per_commit=2)
    assert "507" in str(info.value) and "run the same command again" in str(info.value)
    committed = set(hub.commits("alice/ds")[0].files)
    assert committed == {".gitattributes", "data/train-00000-of-00005.parquet", "data/train-00001-of-00005.parquet"}
    stored_before = list(hub.state.lfs_uploads)
    assert len(stored_before) == 3

    hub.state.fail_lfs_uploads_after = None
    result = push_to_hub(tiny_dataset, "alice/ds", token=TOKEN_ALICE, endpoint=hub.url, shards_per_commit=2)

    new_uploads = hub.state.lfs_uploads[len(stored_before):]
    assert len(new_uploads) == 8 - 3  # the blob stored by the failed batch is not sent again
    assert not set(new_uploads) & set(stored_before)
    assert sorted(result.skipped) == sorted(committed - {".gitattributes"})
    remote = remote_files(hub, "alice/ds")
    remote.pop(".gitattributes")
    assert remote == local_files(tiny_dataset)


def test_changed_dataset_replaces_files_and_removes_stale_shards(hub, tiny_dataset, tmp_path):
    push_to_hub(tiny_dataset, "alice/ds", token=TOKEN_ALICE, endpoint=hub.url)
    rebuilt = make_tiny_dataset(tmp_path / "rebuilt", seed=3, rows_per_shard=5)  # train: 2 shards, not 5

    result = push_to_hub(rebuilt, "alice/ds", token=TOKEN_ALICE, endpoint=hub.url, commit_message="Rebuild")

    assert sorted(result.deleted) == [f"data/train-0000{k}-of-00005.parquet" for k in range(5)]
    assert sorted(result.uploaded) == sorted(published_files(rebuilt))  # new seed: every file differs
    assert hub.commits("alice/ds")[0].title == "Rebuild"
    remote = remote_files(hub, "alice/ds")
    remote.pop(".gitattributes")
    assert remote == local_files(rebuilt)


def test_push_to_a_branch_leaves_main_alone(hub, tiny_dataset):
    result = push_to_hub(tiny_dataset, "celeb-lab/ds", token=TOKEN_ALICE, endpoint=hub.url, revision="v1")
    assert result.load_line == "datasets.load_dataset('celeb-lab/ds', revision='v1')"
    assert result.url.endswith("/datasets/celeb-lab/ds/tree/v1")
    assert set(hub.commits("celeb-lab/ds", "main")[0].files) == {".gitattributes"}
    assert "README.md" in hub.commits("celeb-lab/ds", "v1")[0].files


def test_login_token_is_used_when_none_is_given(hub, tiny_dataset, isolated_hub_client):
    isolated_hub_client.mkdir(parents=True, exist_ok=True)
    (isolated_hub_client / "token").write_text(TOKEN_ALICE)
    result = push_to_hub(tiny_dataset, "alice/ds", endpoint=hub.url)
    assert result.commits


def test_hf_token_and_hf_endpoint_from_the_environment(hub, tiny_dataset, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN_ALICE)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    result = push_to_hub(tiny_dataset, "alice/ds")
    assert result.url == f"{hub.url}/datasets/alice/ds" and result.commits


def test_public_push_creates_a_public_repo(hub, tiny_dataset):
    result = push_to_hub(tiny_dataset, "alice/ds", private=False, token=TOKEN_ALICE, endpoint=hub.url)
    assert result.private is False and hub.state.repos["alice/ds"].private is False


def test_private_push_into_an_existing_public_repo_is_refused(hub, tiny_dataset):
    from huggingface_hub import HfApi

    HfApi(endpoint=hub.url, token=TOKEN_ALICE).create_repo("alice/open", repo_type="dataset", private=False)
    with pytest.raises(HubError, match="already exists and is public"):
        push_to_hub(tiny_dataset, "alice/open", token=TOKEN_ALICE, endpoint=hub.url)
    assert set(hub.commits("alice/open")[0].files) == {".gitattributes"}


# -- error paths ---------------------------------------------------------------------------------------------


def test_missing_token_says_how_to_get_one(hub, tiny_dataset):
    with pytest.raises(HubAuthError, match="--token.*HF_TOKEN.*hf auth login"):
        push_to_hub(tiny_dataset, "alice/ds", endpoint=hub.url)
    assert hub.state.requests == []


def test_rejected_token_is_reported_and_never_printed(hub, tiny_dataset):
    bad = "hf_this_token_was_revoked_42"
    with pytest.raises(HubAuthError) as info:
        push_to_hub(tiny_dataset, "alice/ds", token=bad, endpoint=hub.url)
    assert "401" in str(info.value) and "rejected the token" in str(info.value)
    assert bad not in str(info.value) and "alice/ds" not in hub.state.repos


@pytest.mark.parametrize("token, repo_id", [(TOKEN_READER, "bob/ds"), (TOKEN_BOB, "alice/ds")])
def test_no_write_access_is_reported(hub, tiny_dataset, token, repo_id):
    push_to_hub(tiny_dataset, "alice/ds", token=TOKEN_ALICE, endpoint=hub.url, private=False)
    with pytest.raises(HubPermissionError) as info:
        push_to_hub(tiny_dataset, repo_id, token=token, endpoint=hub.url, private=False)
    assert "403" in str(info.value) and "write" in str(info.value) and token not in str(info.value)


def test_unreachable_server_is_reported(tiny_dataset):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(HubConnectionError, match=f"cannot reach the Hub at http://127.0.0.1:{port}"):
        push_to_hub(tiny_dataset, "alice/ds", token=TOKEN_ALICE, endpoint=f"http://127.0.0.1:{port}")


def test_dataset_that_fails_checks_is_not_pushed(hub, tiny_dataset):
    shard = tiny_dataset / "data" / "train-00001-of-00005.parquet"
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(DatasetNotPublishable, match="train-00001-of-00005.parquet"):
        push_to_hub(tiny_dataset, "alice/ds", token=TOKEN_ALICE, endpoint=hub.url)
    assert hub.state.requests == []


def test_dataset_that_fails_verify_is_not_pushed(hub, tiny_dataset):
    card = tiny_dataset / "README.md"  # the card now miscounts the train split: only `celebamat verify` sees it
    text, n = re.subn(r"(- name: train\n(?:    \w+: \d+\n)*?    num_examples: )10\n", r"\g<1>11\n", card.read_text())
    assert n == 1
    card.write_text(text)
    with pytest.raises(DatasetNotPublishable, match="fails verification, nothing was pushed") as info:
        push_to_hub(tiny_dataset, "alice/ds", token=TOKEN_ALICE, endpoint=hub.url)
    assert "train" in str(info.value) and "celebamat verify" in str(info.value)
    assert hub.state.requests == []


def test_folder_without_manifest_is_not_pushed(hub, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotPublishable, match="manifest.json"):
        push_to_hub(tmp_path / "empty", "alice/ds", token=TOKEN_ALICE, endpoint=hub.url)
    assert hub.state.requests == []


def test_bad_repo_id_is_rejected(tiny_dataset):
    with pytest.raises(HubError, match="NAMESPACE/NAME"):
        push_to_hub(tiny_dataset, "just-a-name", token=TOKEN_ALICE, endpoint="http://127.0.0.1:9")
