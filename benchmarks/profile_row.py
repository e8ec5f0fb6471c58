"""Where a row's time goes: every stage of one build row timed on one core, at 512 and 1024 px.

    python benchmarks/profile_row.py [--sizes 512 1024] [--rows 48] [--rows-per-shard 16] [--recipe NAME]
                                     [--json OUT.json]

Rows are made the way ``benchmarks/bench_build.py`` makes them (a CelebAMask-HQ-shaped folder of the demo faces,
one composite per face, as in the paper-scale build): each row loads its face (decode the 1024 px photo and the
part masks, resize, face mesh), samples its params, renders, checks, encodes and is written to parquet shards
of ``--rows-per-shard`` rows (the table built and written when a shard closes, ``write: parquet``) by
the build's own functions (``load_usable``, ``render_face_row``, ``ShardWriter``), under a build worker's process
settings. The functions of each stage are wrapped with timers (``--clock cpu``, the default: the process's CPU
time, ``time.process_time``, which a busy shared machine disturbs far less than the wall clock, since time spent
waiting for a core is not counted; ``--clock wall``: ``time.perf_counter``); a stage's time is *exclusive*
(its own, less the wrapped stages it calls), so the stages add up to the row. Prints one table per size: milliseconds per row and share of the row, and calls per row.

To compare two versions of the code in one run, point ``PYTHONPATH`` at each in turn (this file imports nothing
of the version it measures until it runs, and skips stages that version does not have), alternate them and
compare the JSON written by ``--json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable


class Profiler:
    """Exclusive time per stage label, for nested wrapped calls, on ``clock`` (seconds)."""

    clock: Callable[[], float] = time.process_time

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[float] = []

    def wrap(self, owner: Any, name: str, label: str | Callable[..., str] | None = None) -> None:
        """Time ``owner.name`` (a module function, class method or instance attribute) under ``label``
        (a string, or a function of the call's arguments returning one). Absent attributes are skipped."""
        fn = getattr(owner, name, None)
        if fn is None:
            return
        stack, seconds, calls = self._stack, self.seconds, self.calls
        fixed = label or name

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = self.clock()
            stack.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                dt = self.clock() - t0
                child = stack.pop()
                key = fixed if isinstance(fixed, str) else fixed(*args, **kwargs)
                seconds[key] += dt - child
                calls[key] += 1
                if stack:
                    stack[-1] += dt

        setattr(owner, name, timed)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def _png_label(image: Any, *a: Any, **k: Any) -> str:
    return "encode: PNG matte" if image.ndim == 2 else "encode: PNG RGB"


def instrument(prof: Profiler) -> None:
    """Wrap the stages of a row in the code on ``sys.path``."""
    try:
        import celebamat.dataset.rows as rows
    except ImportError:  # the code before issue 32 rendered rows in celebamat.dataset.shards
        import celebamat.dataset.shards as rows
    import celebamat.dataset.verify as verify
    import celebamat.faces.celebamask as celebamask
    import celebamat.synth.camera as camera
    import celebamat.synth.lighting as lighting
    import celebamat.synth.realism as realism
    import celebamat.synth.render as render
    import celebamat.synth.sampling as sampling
    import celebamat.synth.skin_texture as skin_texture
    from celebamat.dataset.parquet import ShardWriter

    w = prof.wrap
    # Loading the face (one composite per face: once per row).
    w(celebamask, "read_image", "load: decode photo")
    w(celebamask, "read_mask_u8", "load: decode masks")
    w(celebamask, "paint_parts", "load: paint parts")
    w(getattr(celebamask, "CelebAMaskHQSource", None), "load", "load: other (resize, skin)")
    from celebamat.landmarks import get_landmarker

    w(get_landmarker(), "mesh", "load: face mesh")
    # Sampling the params, and what it reads from the photo once per face.
    w(sampling, "sample_params", "sample: params (rest)")
    w(sampling, "place_asset", "sample: placement")
    w(lighting, "fit_face_light", "sample: light fit")
    w(camera, "edge_blur_sigma", "sample: edge blur")
    w(camera, "grain_sigma", "sample: grain estimate")
    # Rendering.
    w(render, "render", "render: rest (clean, skin, mattes)")
    w(render, "render_layers", "render: layers (rest: asset rgba, per-occluder glue)")
    w(render._FaceReadings if hasattr(render, "_FaceReadings") else None, "_get", "render: face readings")
    w(realism, "tone_transfer", "render: colour transfer")
    w(realism, "albedo_transfer", "render: colour transfer")
    w(realism, "light_match", "render: light match")
    w(render, "premultiply", "render: premultiply")
    w(render, "warp_premultiplied", "render: warp")
    w(lighting, "local_exposure", "render: local exposure")
    w(lighting, "shade_occluder", "render: shading")
    w(skin_texture, "apply_skin_detail", "render: skin detail")
    w(realism, "gaussian", "render: blur (camera, defocus, shadow)")
    w(realism, "motion_blur", "render: motion blur")
    w(camera, "add_grain", "render: grain")
    w(realism, "noise_tile", "render: grain")
    w(realism, "cast_shadow_roi", "render: shadow")
    w(render, "composite_region", "render: composite")
    w(render, "quantize", "render: quantise mattes")
    w(render, "_quantize_in_place", "render: quantise mattes")
    w(realism, "add_noise", "render: sensor noise")
    w(render, "to_uint8", "render: to uint8")
    w(realism, "encode_jpeg_bytes", "encode: JPEG (realism q)")
    # Checking and encoding the row.
    w(verify, "sample_faults", "check: verify faults")
    w(rows, "encode_png", _png_label)
    w(rows, "encode_jpeg", "encode: JPEG RGB")
    for name in ("encode_row", "encode_cells"):  # a version that encodes the cells together
        w(rows, name, "encode: cells (together)")
    w(rows, "render_face_row", "row: rest (row dict)")
    w(ShardWriter, "write", "write: parquet")
    w(ShardWriter, "close", "write: parquet")


def _warm_assets(library: Any) -> None:
    """What a worker computes once per asset on the asset's first use (its pixels, visible boxes, colour), done
    before the clock starts: a long build spreads it over thousands of rows, a few dozen profiled rows would each
    pay a large share of it (about 1.2 ms a row at 512 px over 48 rows)."""
    import celebamat.occluders.asset as asset_module
    import celebamat.synth.render as render

    lab = getattr(render, "_opaque_lab_median", None)
    for asset in library:
        asset.rgba()
        if hasattr(asset, "visible_box"):
            for edge in ("", *asset_module.EDGES):
                asset.visible_box(edge)
        if lab is not None and hasattr(asset, "memo"):
            asset.memo("opaque_lab_median", lab)


def profile(size: int, rows: int, recipe_name: str | None, layout: Path, out: Path,
            rows_per_shard: int = 16) -> dict[str, Any]:
    """Time ``rows`` rows at ``size``, written to shards of ``rows_per_shard`` rows as a build writes them;
    returns ``{"size", "rows", "ms_per_row", "stages": {label: [ms, calls]}}``."""
    from celebamat.dataset.parquet import ShardWriter
    from celebamat.dataset.recipe import load_recipe, recipe_from_dict
    from celebamat.dataset.schema import features
    try:
        from celebamat.dataset.rows import render_face_row
        from celebamat.dataset.worker import configure_worker, library_for, source_for
    except ImportError:  # the code before issue 32
        from celebamat.dataset.shards import configure_worker, library_for, render_face_row, source_for

    configure_worker()
    recipe = recipe_from_dict({
        "name": "profile", "seed": 0,
        "faces": {"source": f"celebamask-hq:{layout}", "size": size},
        "splits": {"train": rows, "validation": 0, "test": 0, "assign": "face"},
        "output": {"rows_per_shard": rows, "preview_samples": 0},
    })
    if recipe_name:
        from dataclasses import replace

        named = load_recipe(recipe_name)
        recipe = replace(recipe, synth=named.synth, output=replace(named.output, rows_per_shard=rows))
    source, library = source_for(recipe), library_for(recipe)
    keys = source.keys()
    feats = features()
    # Warm-up: the mesh model, the library's assets, the noise tiles, a first shard (a worker's first table costs
    # about ten times the next ones): what a build worker pays once, in its first shard.
    _warm_assets(library)
    face = source.load_usable(keys[0])
    out.mkdir(parents=True, exist_ok=True)
    with ShardWriter(out / f"warm-up-{size}.parquet", feats) as writer:
        for i in range(rows_per_shard):
            writer.write(render_face_row(recipe, library, face, "train", i, 10_000 + i)[0])
    del face
    gc.collect()
    prof = PROF
    prof.reset()
    t0 = prof.clock()
    # One writer per shard, closed (table built, file written) when full: a table's first allocations cost
    # more than later ones, so one shard of every row would overstate the writing.
    for start in range(0, rows, rows_per_shard):
        with ShardWriter(out / f"profile-{size}-{start}.parquet", feats) as writer:
            for i in range(start, min(rows, start + rows_per_shard)):
                face = source.load_usable(keys[i % len(keys)])  # a fresh face object each row: nothing memoised
                row, _ = render_face_row(recipe, library, face, "train", i, i)
                writer.write(row)
                del face
    total = prof.clock() - t0
    stages = {k: [1e3 * v / rows, prof.calls[k] / rows] for k, v in prof.seconds.items()}
    stages["unwrapped (loop, gc, ...)"] = [1e3 * (total - sum(prof.seconds.values())) / rows, 1.0]
    return {"size": size, "rows": rows, "ms_per_row": 1e3 * total / rows, "stages": stages}


def table(results: list[dict[str, Any]]) -> str:
    """One column pair (ms per row, share) per result, a line per stage, slowest first."""
    labels = sorted({k for r in results for k in r["stages"]},
                    key=lambda k: -max(r["stages"].get(k, [0.0])[0] for r in results))
    head = "stage".ljust(52) + "".join(f"{r['size']:>7d} px ms  share  calls" for r in results)
    lines = [head, "-" * len(head)]
    for k in labels:
        cells = ""
        for r in results:
            ms, calls = r["stages"].get(k, [0.0, 0.0])
            cells += f"{ms:>14.2f}  {100 * ms / r['ms_per_row']:>4.1f}%  {calls:>5.2f}"
        lines.append(k[:52].ljust(52) + cells)
    lines.append("-" * len(head))
    lines.append("row".ljust(52) + "".join(f"{r['ms_per_row']:>14.2f}  100%       " for r in results))
    return "\n".join(lines)


PROF = Profiler()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--rows", type=int, default=48, help="rows per size (one composite per face)")
    ap.add_argument("--recipe", help="take the occluder and realism settings from this recipe (default: the "
                    "defaults, as bench_build.py)")
    ap.add_argument("--rows-per-shard", type=int, default=16, help="rows per shard (default: as bench_build.py)")
    ap.add_argument("--layout", help="an existing CelebAMask-HQ-shaped folder (default: write one of --rows faces)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="time stages in the process's CPU time (default) or wall-clock time")
    args = ap.parse_args(argv)
    PROF.clock = time.process_time if args.clock == "cpu" else time.perf_counter
    instrument(PROF)
    with tempfile.TemporaryDirectory(prefix="celebamat-profile-") as tmp:
        if args.layout:
            layout = Path(args.layout)
        else:
            from celebamat.faces.celebamask_layout import write_celebamask_layout

            layout = write_celebamask_layout(Path(tmp) / "layout", args.rows)
        results = [profile(s, args.rows, args.recipe, layout, Path(tmp) / "out", args.rows_per_shard)
                   for s in args.sizes]
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
