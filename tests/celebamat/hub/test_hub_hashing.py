"""A push reuses the shards' sha256 from the manifest: the client never reads a shard to hash it."""

from __future__ import annotations

import hashlib

from hub_tokens import TOKEN_ALICE
from tiny_dataset import manifest

from celebamat.dataset.hub import push_to_hub


def test_shards_are_not_hashed_again_and_arrive_intact(hub, tiny_dataset, monkeypatch):
    import huggingface_hub.lfs as hf_lfs

    hashed: list[str] = []
    real = hf_lfs.sha_fileobj

    def recording(fileobj, *args, **kwargs):
        hashed.append(str(getattr(fileobj, "name", fileobj)))
        return real(fileobj, *args, **kwargs)

    # The client's lazy hashing of a local file (UploadInfo.sha256) goes through this function.
    monkeypatch.setattr(hf_lfs, "sha_fileobj", recording)
    push_to_hub(tiny_dataset, "alice/hashes", token=TOKEN_ALICE, endpoint=hub.url)

    shards = manifest(tiny_dataset)["shards"]
    assert shards and not [p for p in hashed if p.endswith(".parquet")], hashed
    assert any(p.endswith("preview.png") for p in hashed)  # the probe sees the client's hashing at all
    # The server checks each upload against the sha256 it was announced with, and holds the true bytes.
    stored = {sha for (repo, sha) in hub.state.lfs if repo == "alice/hashes"}
    for s in shards:
        assert hashlib.sha256((tiny_dataset / s["path"]).read_bytes()).hexdigest() == s["sha256"] in stored
