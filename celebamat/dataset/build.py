"""``celebamat build``: parallel, deterministic, resumable sharded builds (the orchestration).

One task per shard through joblib: the process backend (loky) on one machine, or joblib's Dask backend on a
Dask cluster (``--scheduler``) or a local one (``cluster``). Every shard's bytes depend only on the recipe,
the faces and the occluder library, so any worker count, either backend, and any history of interruptions
give the same files. A re-run resumes: shards whose file matches its recorded checksum are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from celebamat import __version__
from celebamat.dataset.cluster import BACKENDS, backend_context, check_workers, run_tasks
from celebamat.dataset.plan import BuildPlan, ShardTask, check_occluder_pools, make_plan
from celebamat.dataset.recipe import Recipe
from celebamat.dataset.scan import scan_build_faces
from celebamat.dataset.schema import SAMPLE_FORMAT_VERSION, SPLITS
from celebamat.dataset.shards import STATE_DIR, write_shard
from celebamat.dataset.worker import library_for, source_for, worker_memory
from celebamat.errors import CelebAMatError
from celebamat.utils.io import atomic_write_text, output_dir, sha256_file

log = logging.getLogger("celebamat.build")

#: Where ``celebamat build`` writes when no ``--out`` is given (relative to the working directory).
DEFAULT_OUT = "celebamat-data"


@dataclass
class BuildReport:
    out: Path
    splits: dict[str, int]
    shards_written: int
    shards_reused: int
    seconds: float
    skipped: list[dict[str, Any]] = field(default_factory=list)
    #: ``(seconds since the shard phase began, rows)`` for each shard written, in completion order.
    timeline: list[tuple[float, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.splits.values())

    def summary(self) -> str:
        lines = [f"built {self.total} samples into {self.out}"]
        lines += [f"  {s:<10} {n:>8} rows" for s, n in self.splits.items()]
        rate = self.total / self.seconds if self.seconds > 0 else float("nan")
        lines.append(
            f"  {self.shards_written} shards written, {self.shards_reused} reused, {self.seconds:.1f} s, "
            f"{rate:.2f} samples/s overall"
        )
        if self.skipped:
            lines.append(f"  skipped {len(self.skipped)} faces:")
            for s in self.skipped:
                lines.append(f"    {s['face']}: {s['reason']}" + (f" ({s['detail']})" if s.get("detail") else "")
                             + (f"; {s['rows_replaced']} row(s) use another face" if s.get("rows_replaced") else ""))
        else:
            lines.append("  no faces skipped")
        return "\n".join(lines)


@contextlib.contextmanager
def build_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out`` for the whole build; a second build into it is refused.

    ``filelock``'s OS lock on ``.celebamat/lock``: the operating system releases it when the process ends,
    however it ends (``kill -9`` included), so a killed build never leaves the folder locked.
    """
    from filelock import FileLock, Timeout

    state = out / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    lock = FileLock(state / "lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise CelebAMatError(
            f"another build is writing into {out} right now; wait for it to finish or choose another --out"
        ) from None
    try:
        yield
    finally:
        lock.release()


def library_digest(library: Any) -> str:
    """sha256 over (asset id, image sha256, metadata) of every asset: the library a build used."""
    h = hashlib.sha256()
    for a in library.assets:
        h.update(a.id.encode())
        h.update(sha256_file(a.path).encode())
        h.update(json.dumps(a.metadata(), sort_keys=True).encode())
    return h.hexdigest()


#: Libraries whose versions shape the bytes of a sample (decoding, resampling, landmarks, encoding, parquet).
BYTE_SHAPING_PACKAGES = ("numpy", "opencv-contrib-python", "pillow", "zlib-ng", "mediapipe", "scipy", "pyarrow",
                         "datasets")


def build_key_parts(recipe: Recipe, lib_digest: str) -> dict[str, Any]:
    """Everything the bytes of a build depend on, besides the face files: the recipe, the occluder library,
    the sample format version and the versions of the libraries that shape bytes."""
    estimator = getattr(source_for(recipe), "estimator", None)  # a skin model's name carries its digest
    return {
        "recipe": recipe.fingerprint(),
        "occluder library": lib_digest,
        "skin estimator": getattr(estimator, "name", None),
        "celebamat": __version__,
        "sample format": SAMPLE_FORMAT_VERSION,
        **{f"package {k}": v for k, v in _package_versions(BYTE_SHAPING_PACKAGES).items()},
    }


def _build_key(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _describe_change(prev: dict[str, Any], parts: dict[str, Any]) -> str:
    """What differs between the key parts of a previous build and this one, in words."""
    old = prev.get("parts")
    if not isinstance(old, dict):
        return "it was made by an older celebamat that did not record what its bytes depend on"
    changes = []
    for name in sorted(set(old) | set(parts)):
        a, b = old.get(name), parts.get(name)
        if a == b:
            continue
        if name in ("recipe", "occluder library"):
            changes.append(f"the {name} changed" + (f" (recipe {prev.get('recipe')!r})" if name == "recipe" else ""))
        else:
            changes.append(f"{name} {a if a is not None else 'absent'} -> {b if b is not None else 'absent'}")
    return "; ".join(changes) or "its build key differs"


def _prepare_out(out: Path, key: str, recipe: Recipe, overwrite: bool, parts: dict[str, Any] | None = None) -> None:
    """Refuse to mix builds: a folder holding shards made with another key (recipe, occluder library, sample
    format or byte-shaping library versions) needs ``overwrite``; the error says what changed."""
    parts = parts or {}
    state = out / STATE_DIR / "build.json"
    prev = _read_state(state, overwrite) if state.exists() else None
    if prev is not None:
        if prev.get("key") == key:
            return
        if not overwrite:
            raise CelebAMatError(
                f"{out} holds a build that this one would not reproduce: {_describe_change(prev, parts)}. "
                "Resuming would mix shards of both; pass --overwrite to rebuild from scratch, or choose another --out"
            )
    elif state.exists() or (out / "data").exists() or (out / "manifest.json").exists():
        if not overwrite:
            raise CelebAMatError(f"{out} already holds a dataset not made by this build; pass --overwrite")
    if overwrite:
        for name in ("data", "README.md", "manifest.json", "preview.png"):
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
        shutil.rmtree(out / STATE_DIR / "shards", ignore_errors=True)
        (out / STATE_DIR / "faces.json").unlink(missing_ok=True)
    (out / STATE_DIR).mkdir(parents=True, exist_ok=True)
    atomic_write_text(state, json.dumps({"key": key, "recipe": recipe.name, "parts": parts}, sort_keys=True))


def _read_state(state: Path, overwrite: bool) -> dict[str, Any] | None:
    """The previous build's record, or ``None`` when it is corrupt and ``overwrite`` lets this build replace it."""
    try:
        prev = json.loads(state.read_text(encoding="utf-8"))
        if isinstance(prev, dict):
            return prev
        fault = f"a JSON {type(prev).__name__}, not an object"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fault = str(exc)
    if overwrite:
        log.warning("%s is corrupt (%s): --overwrite rebuilds from scratch", state, fault)
        return None
    raise CelebAMatError(f"{state} is corrupt ({fault}), so this build cannot tell what the folder holds; pass "
                         "--overwrite to rebuild from scratch, or choose another --out")


class _ShardTaskRunner:
    def __init__(self, recipe: Recipe, out: str) -> None:
        self.recipe, self.out = recipe, out

    def __call__(self, task: ShardTask) -> dict[str, Any]:
        return write_shard(self.recipe, task, self.out)


class _WorkerFacts:
    """What a Dask worker must share with the machine that starts a build (run on each worker)."""

    def __init__(self, recipe: Recipe, out: str, probe: str) -> None:
        self.recipe, self.out, self.probe = recipe, out, probe

    def __call__(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"celebamat": __version__, "sample format": SAMPLE_FORMAT_VERSION, "cpu": _cpu_model(),
                                 "threads": {v: os.environ.get(v) for v in _THREAD_VARS},
                                 **{f"package {k}": v for k, v in _package_versions(BYTE_SHAPING_PACKAGES).items()}}
        try:
            facts["face source"] = source_for(self.recipe).signature()
        except Exception as exc:  # a source this worker cannot open at all
            facts["face source"] = f"unusable ({exc})"
        try:
            seen = (Path(self.out) / STATE_DIR / _PROBE).read_text(encoding="utf-8")
        except OSError:
            seen = ""
        facts["output folder"] = "shared" if seen == self.probe else "not shared"
        try:
            facts["occluder library"] = library_digest(library_for(self.recipe))
        except Exception as exc:
            facts["occluder library"] = f"unusable ({exc})"
        return facts


_PROBE = "cluster-probe"
#: Thread counts of the numerical libraries, read when a process starts: a build worker is one core, so 1 (what
#: Dask's nanny sets in the workers it starts, and loky in workers that fill the cores).
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _check_cluster(client: Any, recipe: Recipe, out: Path, scheduler: str) -> None:
    """Refuse a Dask cluster whose workers cannot write this build's bytes (other celebamat or byte-shaping
    package versions, another view of the face source, an output folder they do not share); warn when their
    CPU models differ from this machine's (the bytes then differ, see docs/building.md)."""
    import secrets

    probe = out / STATE_DIR / _PROBE
    token = secrets.token_hex(16)
    atomic_write_text(probe, token)
    try:
        here = _WorkerFacts(recipe, str(out), token)()
        expected = {k: v for k, v in here.items() if k not in ("cpu", "threads")}
        explain = {
            "output folder": f"it does not see {out} (the output folder must be on storage every worker shares, "
                             "at the same path)",
            "face source": f"it sees other files at {recipe.faces.source} (the face source must be on storage every "
                           "worker shares, at the same path)",
            "occluder library": "its occluder library differs (the same celebamat, and any extra library on storage "
                                "every worker shares, at the same path)",
        }
        answers = check_workers(client, _WorkerFacts(recipe, str(out), token), expected, scheduler, explain)
    finally:
        probe.unlink(missing_ok=True)
    cpus = sorted({a["cpu"] for a in answers.values()} - {here["cpu"]})
    if cpus:
        log.warning("Dask workers run on other CPU models than this machine (%s, here %s): the shards are correct "
                    "but not byte-identical to a build on this machine (see 'Deterministic' in docs/building.md)",
                    ", ".join(cpus), here["cpu"])
    unset = sorted(a for a, f in answers.items() if any(v != "1" for v in f["threads"].values()))
    if unset:
        log.warning("Dask worker(s) %s run the numerical libraries on several threads each (%s): start workers with "
                    "their nanny (the default) or with %s set, or they compete for their cores", ", ".join(unset),
                    ", ".join(f"{k}={v}" if v else f"{k} unset" for k, v in answers[unset[0]]["threads"].items()),
                    " ".join(f"{v}=1" for v in _THREAD_VARS))


def completed_shards(out: Path, tasks: list[ShardTask]) -> dict[str, dict[str, Any]]:
    """Shards already written and intact, by this plan: file present, its sha256 equal to the recorded one,
    and recorded as written by the same task (same rows, faces and pool)."""
    done = {}
    for t in tasks:
        rec = out / STATE_DIR / "shards" / (Path(t.name).name + ".json")
        f = out / t.name
        if not (rec.exists() and f.exists()):
            continue
        try:
            summary = json.loads(rec.read_text())
        except json.JSONDecodeError:
            continue
        if (summary.get("rows") == len(t.rows) and summary.get("task") == t.digest
                and summary.get("sha256") == sha256_file(f)):
            done[t.name] = summary
    return done


def _clean_stale(out: Path, tasks: list[ShardTask]) -> None:
    """Remove temporary files of killed runs and shards that belong to no task of this plan."""
    data = out / "data"
    if not data.is_dir():
        return
    names = {Path(t.name).name for t in tasks}
    for p in data.iterdir():
        if p.name.startswith(".tmp-") or (p.suffix == ".parquet" and p.name not in names):
            p.unlink()


def build_dataset(
    recipe: Recipe,
    out: str | Path = DEFAULT_OUT,
    *,
    workers: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    finalize: bool = True,
) -> BuildReport:
    """Build (or resume building) a dataset from ``recipe`` into ``out``.

    Args:
        recipe: a resolved :class:`~celebamat.dataset.recipe.Recipe` (overrides already applied).
        out: output folder (created); see :data:`DEFAULT_OUT`.
        workers: parallel worker processes (more than the cores is allowed).
        backend: ``loky`` (processes on this machine) or ``dask``.
        scheduler: address of a Dask scheduler (``tcp://host:8786``); ``None`` starts a local cluster. With a
            scheduler, ``workers`` is the worker threads to wait for, and every worker is checked first
            (same packages, same face files, the output folder shared; see docs/building.md).
        overwrite: replace a build of another recipe in ``out``.
        progress: show progress bars.
        finalize: write ``manifest.json``, ``README.md`` and ``preview.png`` at the end.

    Returns:
        A :class:`BuildReport` (counts per split, shards written and reused, time, skipped faces).
    """
    if backend not in BACKENDS:
        raise CelebAMatError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if workers < 1:
        raise CelebAMatError(f"--workers must be at least 1, got {workers}")
    out = output_dir(out)
    t0 = time.perf_counter()
    with build_lock(out):
        library = library_for(recipe)
        if library.skipped:
            for path, fault in library.skipped:
                log.warning("occluder asset skipped: %s", fault)
        for warning in check_occluder_pools(recipe, library):
            log.warning("%s", warning)
        parts = build_key_parts(recipe, library_digest(library))
        key = _build_key(parts)
        _prepare_out(out, key, recipe, overwrite, parts)
        with backend_context(backend, workers, scheduler, worker_memory(recipe.faces.size)) as client:
            if client is not None:
                _check_cluster(client, recipe, out, scheduler)
            scan = scan_build_faces(recipe, out, workers, backend, progress)
            usable = [(r["key"], r["identity"]) for r in scan if r["ok"]]
            skipped = [{"face": r["key"], "reason": r["reason"], "detail": r["detail"]} for r in scan if not r["ok"]]
            for s in skipped:
                log.warning("skipped face %s: %s%s", s["face"], s["reason"],
                            f" ({s['detail']})" if s["detail"] else "")
            plan = make_plan(recipe, usable)
            tasks = plan.shards(recipe.output.rows_per_shard)
            _clean_stale(out, tasks)
            done = completed_shards(out, tasks)
            todo = [t for t in tasks if t.name not in done]
            summaries, timeline = _write_shards(recipe, out, plan.total, todo, done, workers, backend, progress)
        late = _late_skips(summaries.values())
        for s in late:
            log.warning("face %s failed to load: %s%s; %d row(s) use another face of the split instead", s["face"],
                        s["reason"], f" ({s['detail']})" if s["detail"] else "", s["rows_replaced"])
        skipped = skipped + late
        report = BuildReport(
            out=out,
            splits={s: len(plan.splits[s]) for s in SPLITS if plan.splits.get(s)},
            shards_written=len(todo),
            shards_reused=len(done),
            timeline=timeline,
            seconds=time.perf_counter() - t0,
            skipped=skipped,
        )
        if finalize:
            ordered = [summaries[t.name] for t in tasks]
            finalize_dataset(out, recipe, plan, ordered, skipped, library, key, progress=progress)
    return report


def _write_shards(recipe: Recipe, out: Path, total: int, todo: list[ShardTask], done: dict[str, dict[str, Any]],
                  workers: int, backend: str, progress: bool
                  ) -> tuple[dict[str, dict[str, Any]], list[tuple[float, int]]]:
    """Write the shards of ``todo`` (``done`` are kept); returns every shard's summary by path and the
    timeline of the shards written."""
    from tqdm.auto import tqdm

    summaries = dict(done)
    todo_rows = sum(len(t.rows) for t in todo)
    timeline: list[tuple[float, int]] = []
    t_shards = time.perf_counter()
    with tqdm(total=total, initial=total - todo_rows, desc="building", unit="sample",
              disable=not progress, smoothing=0.1) as bar:
        for s in run_tasks(_ShardTaskRunner(recipe, str(out)), todo, workers, backend,
                           worker_memory(recipe.faces.size)):
            summaries[s["path"]] = s
            timeline.append((time.perf_counter() - t_shards, s["rows"]))
            bar.update(s["rows"])
    return summaries, timeline


def finalize_dataset(
    out: Path,
    recipe: Recipe,
    plan: BuildPlan,
    shards: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
    library: Any,
    key: str,
    progress: bool = True,
) -> None:
    """Write ``manifest.json``, ``preview.png`` and the ``README.md`` card (each atomically)."""
    from celebamat.dataset.card import write_card
    from celebamat.dataset.preview import render_dataset_preview

    source = source_for(recipe)
    manifest = {
        "format": "celebamat/1",
        "name": recipe.name,
        "build_key": key,
        "recipe": recipe.to_dict(),
        "seed": recipe.seed,
        "faces": {
            "source": recipe.faces.source,
            "faces_used": len({k for v in plan.splits.values() for k in v} - {s["face"] for s in skipped}),
            "skipped": len(skipped),
            "license": getattr(source, "license", ""),
        },
        "occluder_library": {
            "assets": len(library.assets),
            "by_kind": library.counts(),
            "digest": library_digest(library),
            "skipped": [{"path": path, "fault": fault} for path, fault in library.skipped],
        },
        "splits": {s: len(plan.splits[s]) for s in SPLITS if plan.splits.get(s)},
        "split_faces": {s: len(set(plan.faces.get(s, ()))) for s in SPLITS if plan.splits.get(s)},
        "shards": [
            {k: s[k] for k in ("path", "split", "index", "rows", "sha256", "bytes")} for s in shards
        ],
        "statistics": _statistics(shards),
        "skipped": skipped,
        "versions": _versions(),
    }
    if recipe.output.preview_samples:
        render_dataset_preview(out, out / "preview.png", n=recipe.output.preview_samples)
    write_card(out, manifest)
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def _late_skips(summaries) -> list[dict[str, Any]]:
    """Faces that passed the scan but failed to load in a shard, merged over shards (sorted by face)."""
    merged: dict[str, dict[str, Any]] = {}
    for summary in summaries:
        for s in summary.get("skipped", ()):
            m = merged.setdefault(s["face"], {**s, "rows_replaced": 0})
            m["rows_replaced"] += s["rows_replaced"]
    return [merged[k] for k in sorted(merged)]


def _statistics(shards: list[dict[str, Any]]) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for s in shards:
        st = stats.setdefault(s["split"], {"rows": 0, "kinds": {}, "subtypes": {}, "occluders_per_sample": {},
                                           "occlusion_hist": [0] * len(s["occlusion_hist"])})
        st["rows"] += s["rows"]
        for field_ in ("kinds", "subtypes", "occluders_per_sample"):
            for k, v in s[field_].items():
                st[field_][k] = st[field_].get(k, 0) + v
        st["occlusion_hist"] = [a + b for a, b in zip(st["occlusion_hist"], s["occlusion_hist"])]
    for st in stats.values():
        for field_ in ("kinds", "subtypes", "occluders_per_sample"):
            st[field_] = dict(sorted(st[field_].items()))
    return stats


def _package_versions(packages: tuple[str, ...]) -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for pkg in packages:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def _versions() -> dict[str, str]:
    return {"celebamat": __version__, "python": platform.python_version(), "sample format": str(SAMPLE_FORMAT_VERSION),
            **_package_versions(BYTE_SHAPING_PACKAGES)}


