"""Training configuration: defaults <- recipe TOML <- command-line overrides; saved resolved in the run folder.

A config is a nested dict (TOML tables). Unset values are ``0`` or ``""`` (TOML has no null).
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

from .io import atomic_write_text

DEFAULTS: dict[str, Any] = {
    "role": "teacher",  # "teacher" (NLL with uncertainty) or "student" (uncertainty-guided distillation)
    "model": "teacher",  # facemat.models.create_model name
    "model_kwargs": {},
    "input_size": 256,  # training crop size in px (multiple of 32)
    "seed": 0,
    "device": "auto",  # auto | cpu | cuda | cuda:N
    # torch intra-op threads (0 = torch's default, one per core). On a CPU shared with other busy processes
    # 1 is much faster: OpenMP threads that wait for each other at every op lose their time slices.
    "threads": 0,
    "out": "",  # run folder (required)
    # ImageNet weights for a MobileNetV3 encoder in timm's layout: "hf-hub:<repo id>" or a local
    # .safetensors/.pth file ("" = train from scratch); the run records the file's SHA-256 beside it.
    "encoder_weights": "",
    "encoder_weights_sha256": "",
    # Start from a FaceMat checkpoint (or run folder): every tensor whose name and shape match is copied, e.g. a
    # student initialised from a teacher of the same network (all but the 2-channel head). "" = no.
    "init_from": "",
    # A fourth input channel: where mediapipe's hand landmarker sees hands (facemat.handprior). The model gets
    # model_kwargs.in_channels = 4 and every runtime adds the channel itself; augment.hand_prior_drop blanks it.
    "hand_prior": False,
    "teacher": "",  # student only: teacher checkpoint path (or run folder)
    "data": {
        "path": "",  # dataset folder or Hub repo id
        "train_split": "train",
        "val_split": "validation",
        "streaming": False,
        "shuffle_buffer": 1000,  # streaming only
        "num_workers": 2,
        "val_samples": 64,  # validation rows used during training (0 = all)
    },
    "augment": {
        "enabled": True,
        "flip": 0.5,
        "affine": 0.8,
        "rotate": 10.0,  # degrees, +-
        "scale": [0.9, 1.15],
        "translate": 0.06,  # fraction of the size, +-
        "color": 0.8,
        "brightness": 0.2,
        "contrast": 0.2,
        "saturation": 0.25,
        "hue": 0.03,  # fraction of a turn, +-
        "hand_prior_drop": 0.3,  # probability that a training crop's hand-prior channel is blank (hand_prior only)
        "side_light": 0.0,  # probability of light falling across the frame from one side (augment.side_light)
        "side_light_strength": [0.3, 0.7],  # darkening beyond the terminator
        "side_light_width": [0.2, 1.0],  # ramp width, in half-frames
        "side_light_tint": 0.08,  # +- per channel on the lit side (mean-free)
        "blur": 0.2,
        "blur_sigma": [0.3, 1.5],
        "noise": 0.2,
        "noise_std": [0.005, 0.03],
        "jpeg": 0.3,
        "jpeg_quality": [40, 95],
    },
    "optim": {
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "batch_size": 8,
        "epochs": 20,
        "max_steps": 0,  # 0 = epochs decide
        "warmup_steps": 200,
        "grad_clip": 1.0,
        "amp": True,  # mixed precision on GPU; on CPU only with cpu_bf16
        "cpu_bf16": False,  # bfloat16 autocast on CPU (helps only on CPUs with fast bf16 kernels: measure)
        "channels_last": True,  # NHWC memory format for model and batches (faster convs on CPU and GPU)
        "teacher_bf16": "auto",  # a student's frozen teacher in bf16 on CPU; auto = where the CPU has native bf16
        # Training batches over which the batch norms' running statistics are recomputed before each validation
        # and the final save (facemat.batchnorm; 0 = keep the moving average training kept).
        "precise_bn": 32,
        # The encoder's learning rate as a share of optim.lr (below 1: a pretrained encoder moves less).
        "encoder_lr_scale": 1.0,
        # Decay of an exponential moving average of the weights, evaluated and saved instead of the last step's
        # (facemat.ema; 0 = off, 0.998 averages over about the last 500 steps).
        "ema": 0.0,
    },
    "loss": {
        # teacher
        "nll": 1.0,
        "nll_dist": "laplace",  # laplace | gaussian
        "beta": 0.0,  # beta-NLL exponent (0 = plain NLL, 0.5 typical)
        "l1": 1.0,
        "laplacian": 1.0,
        "laplacian_levels": 5,
        # student
        "gt": 1.0,  # weighted L1 to the ground truth
        "distill": 1.0,  # weighted L1 to the teacher's alpha
        "gt_weighting": "uncertainty",  # uncertainty | confidence | uniform
        "distill_weighting": "confidence",
        "weight_mix": 0.5,  # w = (1 - mix) + mix * normalised map
        # both
        "hole": 0.0,  # weight of the hole term: missing alpha inside the visible face (0 = off)
        "hole_margin": 3,  # px: the face interior is the ground truth eroded by this much
    },
    "log": {
        "val_every": 500,  # steps
        "ckpt_every": 500,  # steps
        "sheet_rows": 4,
    },
}

# Command-line flag -> dotted config key (the flags facemat-train accepts besides --set).
FLAG_KEYS = {
    "max_steps": "optim.max_steps",
    "epochs": "optim.epochs",
    "batch_size": "optim.batch_size",
    "lr": "optim.lr",
    "device": "device",
    "threads": "threads",
    "seed": "seed",
    "num_workers": "data.num_workers",
    "input_size": "input_size",
    "out": "out",
    "data": "data.path",
    "teacher": "teacher",
    "encoder_weights": "encoder_weights",
    "init_from": "init_from",
    "val_every": "log.val_every",
    "ckpt_every": "log.ckpt_every",
}


class ConfigError(ValueError):
    """A recipe or override names an unknown key or holds an invalid value."""


def _merge(base: dict[str, Any], new: dict[str, Any], where: str) -> None:
    for key, value in new.items():
        if key not in base:
            raise ConfigError(f"unknown config key {where}{key!r}; known keys: {sorted(base)}")
        if isinstance(base[key], dict) and key != "model_kwargs":
            if not isinstance(value, dict):
                raise ConfigError(f"config key {where}{key} must be a table, got {value!r}")
            _merge(base[key], value, f"{where}{key}.")
        else:
            base[key] = value


def set_key(config: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in place; raises :class:`ConfigError` for a key the defaults do not know."""
    *parents, leaf = dotted.split(".")
    node = config
    for p in parents:
        if p not in node or not isinstance(node[p], dict):
            raise ConfigError(f"unknown config key {dotted!r}")
        node = node[p]
    if leaf not in node and not (parents and parents[-1] == "model_kwargs"):
        raise ConfigError(f"unknown config key {dotted!r}; known at that level: {sorted(node)}")
    node[leaf] = value


def parse_value(text: str) -> Any:
    """Parse an override value as TOML (numbers, booleans, lists, quoted strings), else keep the string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def load_config(recipe: str | Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the recipe file (TOML), then ``overrides`` (dotted key -> value); validated."""
    config = copy.deepcopy(DEFAULTS)
    if recipe:
        path = Path(recipe)
        if not path.is_file():
            raise ConfigError(f"recipe {path} does not exist")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"recipe {path} is not valid TOML: {err}") from err
        data.pop("recipe", None)  # free-form description table
        _merge(config, data, "")
    for key, value in (overrides or {}).items():
        set_key(config, key, value)
    validate(config)
    return config


def validate(config: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` for inconsistent settings."""
    if config["role"] not in ("teacher", "student"):
        raise ConfigError(f"role must be 'teacher' or 'student', got {config['role']!r}")
    size = config["input_size"]
    if not isinstance(size, int) or size <= 0 or size % 32:
        raise ConfigError(f"input_size must be a positive multiple of 32, got {size!r}")
    if config["loss"]["nll_dist"] not in ("laplace", "gaussian"):
        raise ConfigError(f"loss.nll_dist must be 'laplace' or 'gaussian', got {config['loss']['nll_dist']!r}")
    for key in ("gt_weighting", "distill_weighting"):
        if config["loss"][key] not in ("uncertainty", "confidence", "uniform"):
            raise ConfigError(f"loss.{key} must be uncertainty, confidence or uniform, got {config['loss'][key]!r}")
    if not isinstance(config["optim"]["teacher_bf16"], bool) and config["optim"]["teacher_bf16"] != "auto":
        raise ConfigError(f"optim.teacher_bf16 must be true, false or \"auto\", got {config['optim']['teacher_bf16']!r}")
    if not isinstance(config["hand_prior"], bool):
        raise ConfigError(f"hand_prior must be true or false, got {config['hand_prior']!r}")
    if not 0.0 <= config["augment"]["hand_prior_drop"] <= 1.0:
        raise ConfigError(f"augment.hand_prior_drop must be in [0, 1], got {config['augment']['hand_prior_drop']!r}")
    in_ch = config["model_kwargs"].get("in_channels", 3)
    if in_ch != (4 if config["hand_prior"] else 3) and "in_channels" in config["model_kwargs"]:
        raise ConfigError(f"model_kwargs.in_channels = {in_ch} does not match hand_prior = "
                          f"{str(config['hand_prior']).lower()} (4 with the hand prior, 3 without)")
    _check_numbers(config)
    for key, lo in _INT_RANGES.items():
        node, name = config, key
        for part in key.split("."):
            node, name = node[part], part
        if not isinstance(node, int) or isinstance(node, bool) or node < lo:
            flag = next((f"--{f.replace('_', '-')} / " for f, k in FLAG_KEYS.items() if k == key), "")
            raise ConfigError(f"{flag}{key} must be an integer >= {lo}, got {node!r}"
                              + (" (0 lets optim.epochs decide)" if key == "optim.max_steps" else ""))
    for key in ("optim.lr",):
        section, name = key.split(".")
        if not config[section][name] > 0:
            raise ConfigError(f"--lr / {key} must be above 0, got {config[section][name]!r}")
    if not 0 <= config["optim"]["ema"] < 1:
        raise ConfigError(f"optim.ema must be in [0, 1) (0 = off), got {config['optim']['ema']!r}")
    if not 0 < config["optim"]["encoder_lr_scale"] <= 1:
        raise ConfigError(f"optim.encoder_lr_scale must be in (0, 1], got {config['optim']['encoder_lr_scale']!r}")
    for key in ("weight_decay", "grad_clip"):
        if config["optim"][key] < 0:
            raise ConfigError(f"optim.{key} must be >= 0, got {config['optim'][key]!r}")


#: Integer settings and their smallest allowed value (checked by :func:`validate`).
_INT_RANGES = {
    "seed": 0, "threads": 0, "data.num_workers": 0, "data.val_samples": 0, "data.shuffle_buffer": 0,
    "optim.batch_size": 1, "optim.epochs": 1, "optim.max_steps": 0, "optim.warmup_steps": 0,
    "log.val_every": 0, "log.ckpt_every": 0, "log.sheet_rows": 0,  # 0: off
}


def _check_numbers(node: Any, where: str = "") -> None:
    """Every number in the config finite (no nan or inf), named by its dotted key when not."""
    import math

    if isinstance(node, dict):
        for key, value in node.items():
            _check_numbers(value, f"{where}.{key}" if where else key)
    elif isinstance(node, list):
        for value in node:
            _check_numbers(value, where)
    elif isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(f"config key {where} must be a finite number, got {node!r}")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def dumps_toml(config: dict[str, Any]) -> str:
    """Serialise a config (scalars first, then one table per nested dict) as TOML."""
    lines: list[str] = []

    def table(node: dict[str, Any], name: str) -> None:
        scalars = {k: v for k, v in node.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in node.items() if isinstance(v, dict)}
        if name:
            lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
        for k, v in tables.items():
            table(v, f"{name}.{k}" if name else k)

    table(config, "")
    return "\n".join(lines).lstrip() + "\n"


def save_config(config: dict[str, Any], run_dir: str | Path) -> None:
    """Write ``config.toml`` (reusable as ``--recipe``) and ``config.json`` into the run folder, atomically."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.toml", dumps_toml(config))
    atomic_write_text(run_dir / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
