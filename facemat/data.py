"""Reading CelebAMat through ``datasets``: a dataset folder or a Hub repo id, map-style or streaming.

Only the published columns ``image`` (RGB) and ``alpha`` (8-bit L PNG, 255 = skin) are read. Samples are
``{"image": (3, S, S) float [0, 1], "alpha": (1, S, S) float [0, 1]}``.

Randomness: each training sample draws its augmentation from a ``torch.Generator`` seeded from
``(seed, epoch, row index)`` for map-style data (so a run gives the same batches whatever the worker count,
and a resumed epoch repeats the interrupted one exactly), and from ``(seed, epoch, rank, worker id)`` for
streaming data.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler

from .augment import augment_pair, resize_pair

COLUMNS = ("image", "alpha")


class DataError(ValueError):
    """The dataset cannot be read or lacks the columns FaceMat needs."""


def check_checksums(folder: str | os.PathLike, split: str) -> int:
    """Check the shards of ``split`` in a local dataset folder against the sha256 its ``manifest.json`` records.

    Returns the number of shards checked (0 for a folder without a manifest: nothing to check against).
    Raises :class:`DataError` naming a missing or damaged shard (a Hub repo id is not checked here: the Hub
    checks what it serves; ``celebamat verify DIR`` checks everything, decoding included).
    """
    import json
    from pathlib import Path

    from celebamat.utils.io import sha256_file

    root = Path(folder)
    mpath = root / "manifest.json"
    if not mpath.is_file():
        return 0
    try:
        shards = [s for s in json.loads(mpath.read_text(encoding="utf-8"))["shards"] if s["split"] == split]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{mpath} is corrupt ({exc}); run `celebamat verify {root}` and rebuild") from None
    for s in shards:
        f = root / s["path"]
        if not f.is_file():
            raise DataError(f"{f} is listed in {mpath} but missing; run `celebamat verify {root}` and rebuild "
                            "(re-running the build writes only the damaged shards)")
        if sha256_file(f) != s["sha256"]:
            raise DataError(f"{f}: sha256 differs from {mpath} (a corrupt or modified shard); run "
                            f"`celebamat verify {root}` and re-run the build, which rewrites only damaged shards")
    return len(shards)


def load_split(source: str, split: str, streaming: bool = False, extra: tuple[str, ...] = ()):
    """``datasets.load_dataset(source, split=split)`` restricted to ``image`` and ``alpha``, and to the columns
    of ``extra`` the split has.

    ``source`` is a local dataset folder (README.md with ``configs`` + data/*.parquet) or a Hub repo id. A
    local folder's shards of ``split`` are checked against its manifest first (:func:`check_checksums`).
    """
    import datasets

    if not source:
        raise DataError("no dataset given: pass --data DIR_OR_REPO (or set data.path in the recipe)")
    if os.path.sep in source and not os.path.isdir(source):
        raise DataError(f"dataset folder {source} does not exist")
    if os.path.isdir(source):
        check_checksums(source, split)
    try:
        ds = datasets.load_dataset(source, split=split, streaming=streaming)
    except ValueError as err:
        raise DataError(f"cannot load split {split!r} of {source}: {err}") from err
    names = ds.column_names or list((ds.features or {}).keys())
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise DataError(f"{source} split {split!r} lacks column(s) {missing}; is it a CelebAMat dataset?")
    return ds.select_columns(list(COLUMNS) + [c for c in extra if c in names and c not in COLUMNS])


def decode_row(row: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """PIL image/alpha of a row -> image ``(3, H, W)`` float [0, 1] and alpha ``(1, H, W)`` float [0, 1]."""
    image = np.asarray(row["image"].convert("RGB"), dtype=np.uint8)
    alpha = np.asarray(row["alpha"].convert("L"), dtype=np.uint8)
    if image.shape[:2] != alpha.shape:
        raise DataError(f"image {image.shape[:2]} and alpha {alpha.shape} differ in size")
    img = torch.from_numpy(image.copy()).permute(2, 0, 1).float().div_(255)
    a = torch.from_numpy(alpha.copy())[None].float().div_(255)
    return img, a


def sample_generator(*keys: int) -> torch.Generator:
    """A torch Generator seeded from a tuple of ints through numpy's SeedSequence (well mixed)."""
    seed = int(np.random.SeedSequence([int(k) for k in keys]).generate_state(1, np.uint64)[0] >> 1)
    return torch.Generator().manual_seed(seed)


def _prior(image: torch.Tensor, gen: torch.Generator | None, drop: float) -> torch.Tensor:
    """The hand-prior channel of an (augmented) crop, blank with probability ``drop`` when training."""
    from .handprior import prior_channel

    if gen is not None and drop > 0 and float(torch.rand(1, generator=gen)) < drop:
        return torch.zeros(1, *image.shape[1:])
    return prior_channel(image)


def model_input(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The network's input of a batch: the image, with the hand-prior channel appended when the batch has one."""
    return torch.cat([batch["image"], batch["prior"]], dim=1) if "prior" in batch else batch["image"]


class MattingDataset(Dataset):
    """Map-style training/eval dataset over a ``datasets.Dataset``.

    ``augment=None`` gives a plain antialiased resize to ``size`` (evaluation).
    """

    def __init__(self, hf_dataset, size: int, augment: dict[str, Any] | None = None, seed: int = 0,
                 hand_prior: bool = False) -> None:
        self.ds = hf_dataset
        self.size = size
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self.hand_prior = hand_prior

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image, alpha = decode_row(self.ds[int(index)])
        if self.augment is None:
            image, alpha = resize_pair(image, alpha, self.size)
        else:
            gen = sample_generator(self.seed, self.epoch, index)
            image, alpha = augment_pair(image, alpha, gen, self.augment, self.size)
        out = {"image": image, "alpha": alpha, "index": torch.tensor(index)}
        if self.hand_prior:
            out["prior"] = _prior(image, None if self.augment is None else gen,
                                  (self.augment or {}).get("hand_prior_drop", 0.0))
        return out


class StreamingMattingDataset(IterableDataset):
    """Iterable dataset over a streaming ``datasets.IterableDataset`` (already split by node)."""

    def __init__(self, hf_iterable, size: int, augment: dict[str, Any] | None, seed: int, rank: int = 0,
                 shuffle_buffer: int = 1000) -> None:
        self.ds = hf_iterable
        self.size = size
        self.augment = augment
        self.seed = seed
        self.rank = rank
        self.shuffle_buffer = shuffle_buffer
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        worker = info.id if info else 0
        gen = sample_generator(self.seed, self.epoch, self.rank, worker)
        ds = self.ds
        if self.augment is not None and self.shuffle_buffer > 1:
            ds = ds.shuffle(seed=self.seed, buffer_size=self.shuffle_buffer)
        ds.set_epoch(self.epoch)  # datasets reshuffles shards and buffer per epoch; workers split shards
        for i, row in enumerate(ds):
            image, alpha = decode_row(row)
            if self.augment is None:
                image, alpha = resize_pair(image, alpha, self.size)
            else:
                image, alpha = augment_pair(image, alpha, gen, self.augment, self.size)
            yield {"image": image, "alpha": alpha, "index": torch.tensor(-1)}


class EpochSampler(Sampler[int]):
    """Seeded permutation of ``n`` rows per epoch, optionally skipping the first ``start`` (resume)."""

    def __init__(self, n: int, seed: int, shuffle: bool = True) -> None:
        self.n, self.seed, self.shuffle = n, seed, shuffle
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def order(self) -> list[int]:
        if not self.shuffle:
            return list(range(self.n))
        return torch.randperm(self.n, generator=sample_generator(self.seed, self.epoch, 7919)).tolist()

    def __iter__(self) -> Iterator[int]:
        return iter(self.order()[self.start:])

    def __len__(self) -> int:
        return self.n - self.start


def make_loader(dataset: Dataset, batch_size: int, num_workers: int, sampler: Sampler | None = None,
                drop_last: bool = True, fork_safe: bool = False) -> DataLoader:
    """A DataLoader with worker prefetching and pinned memory where a GPU is present.

    Workers are not persistent, so each epoch's iterator sees the dataset's current epoch. ``fork_safe``: start
    workers from a clean server process, not by forking this one. Needed once this process has run mediapipe
    (the hand prior, at validation): its threads do not survive a fork, and the next epoch's worker aborted.
    """
    context = None
    if fork_safe and num_workers > 0:
        context = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        drop_last=drop_last,
        pin_memory=torch.cuda.is_available(),
        prefetch_factor=4 if num_workers > 0 else None,
        persistent_workers=False,
        multiprocessing_context=context,
    )
