"""Training loop for the FaceMat teacher and student: ``train(config) -> run folder``.

Run folder layout::

    config.toml, config.json        resolved config (config.toml is reusable as --recipe)
    checkpoints/last.safetensors    weights + optimizer/scaler/step state (resume)
    model.safetensors               final weights only (for facemat-eval / predict / export; with optim.ema
                                    the weights' moving average, facemat.ema)
    metrics.jsonl                   one JSON object per validation
    sheets/step-NNNNNNN.png         image | ground truth | prediction | |error| (| uncertainty)

Resume: an explicit ``resume`` checkpoint, else ``checkpoints/last.safetensors`` of the run folder when it
exists. Map-style data resumes mid-epoch exactly (same permutation and per-sample augmentation seeds).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .batchnorm import calibration_batches, recalibrate_batchnorm
from .checkpoint import load_model, read_checkpoint, save_checkpoint, unwrap
from .config import ConfigError, save_config
from .data import EpochSampler, MattingDataset, StreamingMattingDataset, load_split, make_loader, model_input
from .distributed import DistInfo, all_reduce_mean, barrier, cleanup, init_distributed, resolve_device
from .ema import weight_average
from .losses import student_loss, teacher_loss
from .metrics import image_metrics
from .models import create_model
from .precision import (
    load_optimizer_state,
    make_optimizer,
    param_groups,
    resolve_teacher_bf16,
    set_learning_rate,
    teacher_autocast,
    training_autocast,
)
from .sheet import save_sheet


def learning_rate(step: int, total: int, base: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 5 % of ``base`` at ``total``."""
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def resolve_teacher(path: str) -> Path:
    """A teacher checkpoint file, or a run folder holding ``model.safetensors`` (or a last checkpoint)."""
    p = Path(path)
    if p.is_dir():
        for candidate in (p / "model.safetensors", p / "checkpoints" / "last.safetensors"):
            if candidate.is_file():
                return candidate
        raise ConfigError(f"teacher run folder {p} holds no model.safetensors; train the teacher first")
    if not p.is_file():
        raise ConfigError(f"teacher checkpoint {p} does not exist")
    return p


def _grown(ours: torch.Tensor, theirs: torch.Tensor) -> torch.Tensor | None:
    """``theirs`` copied into a tensor of ``ours``' shape when ours only adds channels (a model with the hand-prior
    input channel initialised from an RGB one); ``None`` otherwise.

    The overlap is copied; a conv weight's added *input* channels are zeroed, so the grown network computes
    exactly what the RGB one did until training teaches it to use the new channel; added output channels keep
    their fresh initialisation (their consumers' weights for them are zero).
    """
    if ours.ndim != theirs.ndim or ours.shape == theirs.shape:
        return None
    grow = [o - t for o, t in zip(ours.shape, theirs.shape)]
    if any(g < 0 for g in grow) or sum(g > 0 for g in grow) != 1 or max(grow) > 2:
        return None
    out = ours.detach().clone()
    if ours.ndim == 4 and grow[1] > 0:
        out[:, theirs.shape[1]:] = 0.0
    out[tuple(slice(0, n) for n in theirs.shape)] = theirs.to(out.dtype)
    return out


def init_from_checkpoint(model: nn.Module, path: Path) -> tuple[int, int]:
    """Copy every tensor of a FaceMat checkpoint whose name and shape match ``model``'s (or that ``model`` only
    widens by an input channel, see :func:`_grown`); returns ``(copied, tensors in the model)``. Raises
    :class:`ConfigError` when the encoder is not fully covered (another network: initialising from it would be
    silently partial)."""
    state, _, _ = read_checkpoint(path)
    ours = model.state_dict()
    take = {k: v for k, v in state.items() if k in ours and ours[k].shape == v.shape}
    for k, v in state.items():
        if k in ours and k not in take and (g := _grown(ours[k], v)) is not None:
            take[k] = g
    encoder = [k for k in ours if k.startswith("encoder.")]
    uncovered = [k for k in encoder if k not in take]
    if uncovered:
        raise ConfigError(f"init_from {path}: {len(uncovered)} encoder tensor(s) missing or of another shape, "
                          f"first: {uncovered[0]}; it must hold the same network")
    model.load_state_dict(take, strict=False)
    return len(take), len(ours)


class _Data:
    """The training batches of this rank: a fixed number of steps per epoch on every rank."""

    def __init__(self, config: dict[str, Any], info: DistInfo) -> None:
        from datasets.distributed import split_dataset_by_node

        dcfg, bs = config["data"], config["optim"]["batch_size"]
        self.streaming = bool(dcfg["streaming"])
        hf = load_split(dcfg["path"], dcfg["train_split"], streaming=self.streaming)
        total = hf.info.splits[dcfg["train_split"]].num_examples if self.streaming and hf.info.splits else None
        if not self.streaming:
            total = len(hf)
        if info.enabled:
            hf = split_dataset_by_node(hf, rank=info.rank, world_size=info.world_size)
        aug = config["augment"]
        if self.streaming and config["hand_prior"]:
            raise ConfigError("hand_prior is not supported with streaming data yet; train from a local folder")
        if self.streaming:
            self.dataset = StreamingMattingDataset(hf, config["input_size"], aug, config["seed"], info.rank,
                                                   dcfg["shuffle_buffer"])
            self.sampler = None
        else:
            self.dataset = MattingDataset(hf, config["input_size"], aug, config["seed"], config["hand_prior"])
            self.sampler = EpochSampler(len(hf), config["seed"] * 1000 + info.rank)
        # Every rank runs the same number of steps (unequal shards would hang DDP otherwise).
        self.steps_per_epoch = (total // info.world_size) // bs if total else 0
        if total is not None and self.steps_per_epoch == 0:
            raise ConfigError(f"train split has {total} rows: too few for batch size {bs} on "
                              f"{info.world_size} process(es); lower --batch-size")
        self.loader = make_loader(self.dataset, bs, config["data"]["num_workers"], self.sampler,
                                  fork_safe=bool(config["hand_prior"]))
        self.batch_size = bs

    def epoch(self, epoch: int, start_step: int) -> Iterator[dict[str, torch.Tensor]]:
        self.dataset.set_epoch(epoch)
        if self.sampler is not None:
            self.sampler.set_epoch(epoch, start_step * self.batch_size)
        it, restarts = iter(self.loader), 0
        step = start_step
        while self.steps_per_epoch == 0 or step < self.steps_per_epoch:
            try:
                batch = next(it)
            except StopIteration:
                if self.steps_per_epoch == 0 or restarts > 100:
                    return
                # Streaming shard shorter on this rank: go round again so all ranks keep step.
                restarts += 1
                self.dataset.set_epoch(epoch * 1000 + restarts)
                it = iter(self.loader)
                continue
            step += 1
            yield batch


def _validation_set(config: dict[str, Any]):
    dcfg = config["data"]
    hf = load_split(dcfg["path"], dcfg["val_split"])
    if dcfg["val_samples"]:
        hf = hf.select(range(min(len(hf), dcfg["val_samples"])))
    return MattingDataset(hf, config["input_size"], augment=None, hand_prior=config["hand_prior"])


@torch.no_grad()
def validate(model: nn.Module, val: MattingDataset, device: torch.device, batch_size: int,
             rows: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Mean metrics over the validation rows, and the first ``rows`` samples for the sheet."""
    model.eval()
    sums: dict[str, float] = {}
    n = 0
    keep: dict[str, list[np.ndarray]] = {"image": [], "gt": [], "pred": [], "log_scale": []}
    loader = make_loader(val, batch_size, 0, drop_last=False)
    for batch in loader:
        out = model(model_input(batch).to(device))
        pred = out["alpha"].float().cpu().numpy()[:, 0]
        gt = batch["alpha"].numpy()[:, 0]
        for p, g in zip(pred, gt):
            for k, v in image_metrics(p, g).items():
                sums[k] = sums.get(k, 0.0) + v
            n += 1
        if len(keep["image"]) < rows:
            keep["image"].extend(batch["image"].permute(0, 2, 3, 1).numpy())
            keep["gt"].extend(gt)
            keep["pred"].extend(pred)
            if "log_scale" in out:
                keep["log_scale"].extend(out["log_scale"].float().cpu().numpy()[:, 0])
    model.train()
    return {k: v / max(n, 1) for k, v in sums.items()}, {k: np.stack(v[:rows]) for k, v in keep.items() if v}


def train(config: dict[str, Any], resume: str | None = None,
          on_step: Callable[[int, dict[str, float]], None] | None = None) -> Path:
    """Train the model ``config`` describes; returns the run folder.

    ``resume``: a checkpoint to continue from (default: the run folder's last checkpoint, when present).
    ``on_step(step, losses)`` is called after every optimisation step (hooks, tests).
    """
    if not config.get("out"):
        raise ConfigError("no run folder: pass --out RUN (or set out in the recipe)")
    info = init_distributed(config["device"] if config["device"] != "auto" else
                            ("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        return _train(config, info, resume, on_step)
    finally:
        cleanup(info)


def _initial_model(config, info, device, resume_from: Path | None) -> nn.Module:
    """The run's model before training: a seeded init (the caller's global RNG untouched), then, on a fresh
    run, the encoder weights and the tensors of ``init_from`` where the config names them."""
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's global RNG
        torch.manual_seed(config["seed"])
        if config["hand_prior"]:
            config["model_kwargs"]["in_channels"] = 4
        model = create_model(config["model"], **config["model_kwargs"]).to(device)
    if config["encoder_weights"] and resume_from is None:
        from .models.pretrained import load_encoder_weights

        loaded = load_encoder_weights(model, config["encoder_weights"])
        config["encoder_weights_sha256"] = loaded.sha256
        if info.is_main:
            tqdm.write(f"encoder weights: {loaded.copied} tensors from {loaded.file} (sha256 {loaded.sha256[:12]}), "
                       f"{loaded.unused_head} classifier-head tensors unused")
    if config["init_from"] and resume_from is None:
        copied, total_tensors = init_from_checkpoint(model, resolve_teacher(config["init_from"]))
        if info.is_main:
            tqdm.write(f"initialised {copied} of {total_tensors} tensors from {config['init_from']}")
    return model


def _teacher_for(config, model: nn.Module, device, memory_format):
    """A student run's frozen teacher (``None`` for a teacher run, whose model must then have an uncertainty
    head when the loss uses it)."""
    if config["role"] == "student":
        if not config["teacher"]:
            raise ConfigError("a student run needs --teacher RUN_OR_CHECKPOINT of a trained teacher")
        teacher, tcfg = load_model(resolve_teacher(config["teacher"]), device=device)
        if not getattr(teacher, "uncertainty", False):
            raise ConfigError(f"teacher {config['teacher']} has no uncertainty head (model {tcfg['model']!r})")
        teacher.requires_grad_(False)
        return teacher.to(memory_format=memory_format)
    if not getattr(model, "uncertainty", False) and config["loss"]["nll"]:
        raise ConfigError(f"role teacher with loss.nll needs a model with an uncertainty head; "
                          f"{config['model']!r} has none")
    return None


def _resume(resume_from: Path, model: nn.Module, optimizer, scaler, ema) -> tuple[int, int, int]:
    """Load the weights and training state of ``resume_from``; returns ``(step, epoch, epoch_step)``."""
    state, _, extra = read_checkpoint(resume_from)
    model.load_state_dict(state)
    if not extra:
        raise ConfigError(f"{resume_from} holds weights only, no training state; cannot resume from it")
    load_optimizer_state(optimizer, extra["optimizer"])
    if scaler is not None and extra.get("scaler"):
        scaler.load_state_dict(extra["scaler"])
    if ema is not None and extra.get("ema"):  # a run saved without the average starts one at its next step
        ema.load_state_dict(extra["ema"])
    return extra["step"], extra["epoch"], extra["epoch_step"]


def _optimise(model, teacher, inputs, target, lr: float, optimizer, scaler, autocast, teacher_precision,
              config, ema=None) -> dict:
    """One optimisation step on a batch at learning rate ``lr`` (forward, loss, backward, clipping, optimizer,
    then the weight average ``ema`` when there is one); returns the loss terms. ``inputs``: the network's input
    and the teacher's (RGB; they differ when the network takes the hand-prior channel)."""
    ocfg, lcfg = config["optim"], config["loss"]
    net_in, image = inputs
    set_learning_rate(optimizer, lr)
    with autocast:
        out = model(net_in)
        if teacher is not None:
            with torch.no_grad(), teacher_precision:
                t_out = {k: v.float() for k, v in teacher(image).items()}
            terms = student_loss(out, target, t_out, lcfg)
        elif config["role"] == "student":
            terms = student_loss(out, target, None, lcfg)
        else:
            terms = teacher_loss(out, target, lcfg)
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(terms["total"]).backward()
        scaler.unscale_(optimizer)
    else:
        terms["total"].backward()
    if ocfg["grad_clip"]:
        nn.utils.clip_grad_norm_(model.parameters(), ocfg["grad_clip"])
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    if ema is not None:
        ema.update_parameters(unwrap(model))
    return terms


def _on_device(batch: dict, device, memory_format) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A training batch on ``device``: the RGB image (the teacher's input), the network's input and the target."""
    image, net_in = (t.to(device, non_blocking=True).contiguous(memory_format=memory_format)
                     for t in (batch["image"], model_input(batch)))
    return image, net_in, batch["alpha"].to(device, non_blocking=True)


def _finite_loss(terms: dict, info, step: int) -> float:
    """The step's total loss averaged over the processes; a loss that is not finite stops the run."""
    loss = float(all_reduce_mean(terms["total"].detach(), info))
    if not math.isfinite(loss):
        raise FloatingPointError(f"loss became {loss} at step {step}; lower --lr or check the data")
    return loss


def _data_and_steps(config, info) -> tuple[_Data, int]:
    """The run's data and its number of optimisation steps (``max_steps``, else whole epochs)."""
    data = _Data(config, info)
    total = config["optim"]["max_steps"] or config["optim"]["epochs"] * data.steps_per_epoch
    if not total:
        raise ConfigError("streaming data of unknown length: set --max-steps")
    return data, total


def _save_run(run: Path, model, config, optimizer, scaler, ema, position: tuple[int, int, int],
              final: bool) -> None:
    """Write the resumable checkpoint (weights and training state at ``position`` = step, epoch, epoch step)
    and, when ``final``, the run's model (the weight average when ``optim.ema`` keeps one)."""
    step, epoch, epoch_step = position
    extra = {"optimizer": optimizer.state_dict(), "step": step, "epoch": epoch, "epoch_step": epoch_step,
             "scaler": scaler.state_dict() if scaler is not None else None,
             "ema": ema.state_dict() if ema is not None else None}
    save_checkpoint(run / "checkpoints" / "last.safetensors", model, config, extra=extra)
    if final:
        save_checkpoint(run / "model.safetensors", ema.module if ema is not None else model, config)


def _precise_bn(model, data: _Data, config, device, memory_format) -> None:
    """Recompute the batch norms' running statistics over ``optim.precise_bn`` training batches
    (:mod:`facemat.batchnorm`); the training loader and its order are left alone."""
    batches = int(config["optim"]["precise_bn"])
    if batches > 0:
        inputs = calibration_batches(data.dataset, batches, data.batch_size, config["seed"], memory_format)
        recalibrate_batchnorm(unwrap(model), inputs, device)


def _validate_and_log(run: Path, model, val, device, config, optimizer, position: tuple[int, int], loss_mean: float,
                      speed: float) -> None:
    """Score the validation set, append the record to ``metrics.jsonl`` and write the step's sheet."""
    step, epoch = position
    means, shown = validate(unwrap(model), val, device, config["optim"]["batch_size"], config["log"]["sheet_rows"])
    record = {"step": step, "epoch": epoch, "train_loss": loss_mean,
              "lr": optimizer.param_groups[-1]["lr"], "images_per_s": speed, **means}
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps(record) + "\n")
    save_sheet(run / "sheets" / f"step-{step:07d}.png", shown)
    tqdm.write(f"step {step}: val mse(whole) {means['mse_whole']:.5f} sad(whole,/1e3) "
               f"{means['sad_whole']:.4f} iou {means['iou']:.4f}")


def _train(config, info, resume, on_step) -> Path:
    """The training run of :func:`train`: set up, resume, the loop over steps, the final checkpoint."""
    device = resolve_device(config["device"], info)
    if config["threads"]:
        torch.set_num_threads(int(config["threads"]))
    run, ocfg = Path(config["out"]), config["optim"]
    last = run / "checkpoints" / "last.safetensors"
    resume_from = Path(resume) if resume else (last if last.is_file() else None)
    memory_format = torch.channels_last if ocfg["channels_last"] else torch.contiguous_format
    model = _initial_model(config, info, device, resume_from).to(memory_format=memory_format)
    teacher = _teacher_for(config, model, device, memory_format)
    optimizer = make_optimizer(param_groups(model, ocfg["encoder_lr_scale"]), ocfg["lr"], ocfg["weight_decay"], device)
    autocast, scaler = training_autocast(device, ocfg["amp"], ocfg["cpu_bf16"])
    # the resolved choice is saved with the config, so a resume on another CPU keeps the run's precision
    ocfg["teacher_bf16"] = teacher is not None and resolve_teacher_bf16(ocfg["teacher_bf16"], device)
    teacher_precision = teacher_autocast(ocfg["teacher_bf16"])
    ema = weight_average(model, ocfg["ema"]) if ocfg["ema"] and info.is_main else None

    step, epoch, epoch_step = 0, 0, 0
    if resume_from is not None:
        step, epoch, epoch_step = _resume(resume_from, model, optimizer, scaler, ema)
        if info.is_main:
            tqdm.write(f"resuming {run} from {resume_from} at step {step} (epoch {epoch})")
    if info.enabled:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    data, total = _data_and_steps(config, info)
    val = _validation_set(config) if info.is_main else None
    if info.is_main:
        save_config(config, run)

    def save(final: bool = False) -> None:
        if info.is_main:
            _save_run(run, model, config, optimizer, scaler, ema, (step, epoch, epoch_step), final)

    def run_validation(loss_mean: float, speed: float) -> None:
        if info.is_main:
            scored = ema.module if ema is not None else model
            _precise_bn(scored, data, config, device, memory_format)
            _validate_and_log(run, scored, val, device, config, optimizer, (step, epoch), loss_mean, speed)

    model.train()
    bar = tqdm(total=total, initial=step, disable=not info.is_main, desc=f"facemat {config['role']}",
               unit="step", dynamic_ncols=True)
    loss_window: list[float] = []
    t0, seen = time.perf_counter(), 0
    val_every, ckpt_every = config["log"]["val_every"], config["log"]["ckpt_every"]
    while step < total:
        for batch in data.epoch(epoch, epoch_step):
            image, net_in, target = _on_device(batch, device, memory_format)
            lr = learning_rate(step, total, ocfg["lr"], ocfg["warmup_steps"])
            terms = _optimise(model, teacher, (net_in, image), target, lr, optimizer, scaler, autocast,
                              teacher_precision, config, ema)
            step += 1
            epoch_step += 1
            loss = _finite_loss(terms, info, step)
            loss_window = (loss_window + [loss])[-50:]
            seen += image.shape[0] * info.world_size
            speed = seen / max(time.perf_counter() - t0, 1e-9)
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(loss_window):.4f}", img_s=f"{speed:.1f}", lr=f"{lr:.2e}")
            if on_step is not None:
                on_step(step, {k: float(v.detach()) for k, v in terms.items()})
            if ckpt_every and step % ckpt_every == 0 and step < total:
                save()
            if val_every and step % val_every == 0 and step < total:
                run_validation(float(np.mean(loss_window)), speed)
            barrier(info)
            if step >= total:
                break
        else:
            epoch, epoch_step = epoch + 1, 0
            continue
        break
    bar.close()
    run_validation(float(np.mean(loss_window)) if loss_window else float("nan"),
                   seen / max(time.perf_counter() - t0, 1e-9))
    save(final=True)
    barrier(info)
    return run
