"""The dataset card (``README.md``): YAML front matter that ``datasets`` and the Hub read, and the text users read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from celebamat.dataset.schema import COLUMNS, OCCLUSION_BINS, SPLITS, features
from celebamat.utils.io import atomic_write_text

if TYPE_CHECKING:
    from huggingface_hub import DatasetCard, DatasetCardData

_NONCOMMERCIAL = (
    "The clean faces come from CelebAMask-HQ, which is licensed for **non-commercial research only** and may "
    "not be redistributed. This dataset is derived from it: keep it private (the default of "
    "`celebamat push-to-hub`), use it for non-commercial research only, and do not share it publicly."
)


#: The skin definition, the same for every face source (``docs/faces.md``).
SKIN_DEFINITION = (
    "Skin is the face's skin from the hairline to the chin, including beard and moustache; the brows; the eyes "
    "with their lids and lashes; the nose; the lips, the mouth interior and the teeth. Not skin: the hair of the "
    "scalp (fringes, strands across the face), hats, glasses (frames and lenses; an eye seen through a clear lens "
    "is skin), ears, neck, clothes and any object."
)


def skin_provenance(faces: dict[str, Any]) -> str:
    """Card sentence saying where the ``skin`` mattes come from, for the recipe's ``faces`` table
    (``source``, ``options``): annotated (exact) or estimated, and by which estimator."""
    from celebamat.faces.estimators import DEFAULT_SKIN_MODEL, LANDMARK_ESTIMATOR, is_landmarks

    src, options = str(faces.get("source", "")), faces.get("options") or {}
    if src.startswith("celebamask"):
        return ("The skin mattes are exact: painted from CelebAMask-HQ's part annotations with this definition "
                "(`skin_source` = `annotation:celebamask-hq`).")
    # folder: photos default to the bundled network; the demo's faces to the landmark estimator
    model = options.get("skin_model", DEFAULT_SKIN_MODEL if src.startswith("folder") else None)
    model = None if is_landmarks(model) else model
    bundled = model is not None and (str(model) == "bundled" or str(model).startswith("bundled:"))
    estimator = (f"FaceMat's bundled model (`{model}`; `skin_source` = `estimate:facemat:bundled:<name>:<sha256 "
                 "prefix>`)" if bundled else
                 f"a FaceMat checkpoint (`{model}`; `skin_source` = `estimate:facemat:<file>:<sha256 prefix>`)"
                 if model else f"the landmark estimator (`{LANDMARK_ESTIMATOR}`: face mesh, person mask, skin "
                 "colour and texture)")
    sidecar = ("Photos with a sidecar mask (`NAME.mask.png`) have an exact matte (`annotation:sidecar mask`); "
               "the others " if src.startswith("folder") else "The faces ")
    traced = (" On the Grace Hopper photo the glasses (light frames, clear lenses: kept as skin by the estimator) "
              "are traced by hand and cut from the estimate, the eyes behind them kept (`skin_source` ending in "
              "`+traced-glasses`)." if src.startswith("demo") else "")
    return (sidecar + f"have an **estimated** skin matte, made by {estimator}: an estimate of this definition, "
            "not exact ground truth (measure an estimator with `celebamat faces score-skin`). Each row's "
            "`skin_source` says what made its skin." + traced)


def card_data(manifest: dict[str, Any]) -> DatasetCardData:
    """The YAML front matter: Hub metadata, ``configs`` (data files per split) and ``dataset_info``.

    ``dataset_info`` (features, split sizes) is written by ``datasets``' own ``DatasetInfosDict``, the code that
    ``Dataset.push_to_hub`` writes cards with, and read back by its ``from_dataset_card_data``, the code
    ``load_dataset`` reads cards with (see :func:`card_infos`): the card says what ``datasets`` will understand.
    """
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    splits = [s for s in SPLITS if manifest["splits"].get(s)]
    nbytes = {s: sum(sh["bytes"] for sh in manifest["shards"] if sh["split"] == s) for s in splits}
    noncommercial = manifest["faces"]["source"].startswith("celebamask-hq")
    data = DatasetCardData(
        license="other" if noncommercial else "cc0-1.0",
        pretty_name=f"CelebAMat ({manifest['name']})",
        task_categories=["image-segmentation"],
        tags=["matting", "face", "occlusion", "synthetic", "celebamat"],
        size_categories=[_size_category(sum(manifest["splits"].values()))],
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}-*.parquet"} for s in splits],
            }
        ],
    )
    split_dict = SplitDict()
    for s in splits:
        split_dict.add(SplitInfo(name=s, num_bytes=nbytes[s], num_examples=manifest["splits"][s]))
    info = DatasetInfo(features=features(), splits=split_dict, download_size=sum(nbytes.values()),
                       dataset_size=sum(nbytes.values()))
    DatasetInfosDict({"default": info}).to_dataset_card_data(data)
    return data


def card_yaml(manifest: dict[str, Any]) -> dict[str, Any]:
    """The YAML front matter as a plain dict (see :func:`card_data`)."""
    return card_data(manifest).to_dict()


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def _table(rows: list[list[str]], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def card_text(manifest: dict[str, Any]) -> str:
    """The Markdown body of the card."""
    parts = _intro_section(manifest) + _statistics_section(manifest) + _sources_section(manifest)
    if manifest["faces"]["source"].startswith("celebamask-hq"):  # non-commercial faces
        parts += ["", "**Licence.** " + _NONCOMMERCIAL]
    parts += ["", *_recipe_section(manifest)]
    return "\n".join(parts)


def _intro_section(manifest: dict[str, Any]) -> list[str]:
    """Title, what the dataset is, how to load it, the alpha semantics, what is skin and the columns."""
    return [
        f"# CelebAMat ({manifest['name']})",
        "",
        "Synthetic **face matting under occlusion**: clean, aligned face photos with hands, hair, accessories, "
        "translucent and textured occluders composited on them by landmark-aware placement, and the matte of the "
        "visible skin (exact for the occluders; the clean face's skin as its source gives it, see below). "
        "Built by celebamat "
        f"{manifest['versions'].get('celebamat', '')} from the recipe below.",
        "",
        "```python",
        "from datasets import load_dataset",
        'ds = load_dataset("path/to/this/folder")  # or the Hub repo id',
        'ds["train"][0]["image"], ds["train"][0]["alpha"]',
        "```",
        "",
        "## Alpha semantics",
        "",
        "`alpha` is an 8-bit single-channel PNG: **255 = visible face skin, 0 = occluder or background**, "
        "fractional values at soft edges (hair strands, blur, translucent occluders). It is computed in float "
        "and quantised once: `alpha = skin * prod_i(1 - a_i)` and `occluder_alpha = 1 - prod_i(1 - a_i)`, where "
        "`a_i` are the warped occluder alphas (times opacity, blurred exactly like their colours). Where no "
        "occluder reaches, `alpha == skin`. Convert with `np.asarray(row['alpha']) / 255.0`. The three mattes "
        "are lossless PNGs, every row Up-filtered and run-length deflated by zlib-ng (chosen by measurement: a "
        "fifteenth of the encoding time of libpng's adaptive filters at level 6, for mattes 11 to 22 % larger "
        "and rows 1 to 3 % larger at 512 and 1024 px).",
        "",
        "## What is skin",
        "",
        SKIN_DEFINITION + " " + skin_provenance(manifest["recipe"]["faces"]),
        "",
        "## Columns",
        "",
        _table([[f"`{k}`", v] for k, v in COLUMNS.items()], ["column", "meaning"]),
        "",
    ]


def _statistics_section(manifest: dict[str, Any]) -> list[str]:
    """Samples, faces and occluders per split, the occlusion histogram, how the splits were made."""
    stats = manifest["statistics"]
    splits = [s for s in SPLITS if manifest["splits"].get(s)]
    return [
        "## Splits and statistics",
        "",
        _table(
            [
                [
                    s,
                    str(manifest["splits"][s]),
                    str(manifest.get("split_faces", {}).get(s, "")),
                    ", ".join(f"{k} {v}" for k, v in stats.get(s, {}).get("kinds", {}).items()),
                    ", ".join(f"{k}: {v}" for k, v in stats.get(s, {}).get("occluders_per_sample", {}).items()),
                ]
                for s in splits
            ],
            ["split", "samples", "faces", "occluders by kind", "samples by occluder count"],
        ),
        "",
        "Occluder subtypes per split:",
        "",
        _table(
            [[s, ", ".join(f"{k} {v}" for k, v in stats.get(s, {}).get("subtypes", {}).items())] for s in splits],
            ["split", "subtypes"],
        ),
        "",
        "Share of the skin occluded (`occluded_fraction`), samples per bin:",
        "",
        _table(
            [[s] + [str(v) for v in stats.get(s, {}).get("occlusion_hist", [])] for s in splits],
            ["split"] + [f"{a:.2f}-{min(b, 1.0):.2f}" for a, b in zip(OCCLUSION_BINS[:-1], OCCLUSION_BINS[1:])],
        ),
        "",
        "Test rows use only occluder assets of the library's test split; train and validation rows only its "
        "train split." + (
            " Faces are split identity-disjoint." if manifest["recipe"]["splits"]["assign"] == "identity" else (
                " Faces are split face-disjoint." if manifest["recipe"]["splits"]["assign"] == "face" else
                " Every split draws from the same (few) faces: this build is for trying the toolkit, not for "
                "measuring generalisation to new people."
            )
        ),
        "",
        "![preview](preview.png)",
        "",
    ]


def _sources_section(manifest: dict[str, Any]) -> list[str]:
    """Where the faces and the occluders come from, and the faces skipped."""
    src = manifest["faces"]["source"]
    return [
        "## Sources and licences",
        "",
        f"- Faces: `{src}`. {manifest['faces'].get('license', '')}",
        f"- Occluders: {manifest['occluder_library']['assets']} assets from the celebamat occluder library "
        "(procedurally generated by celebamat, CC0-1.0, unless imported sets were added; see each asset's "
        "`license`).",
        f"- {manifest['faces'].get('skipped', 0)} faces of the source were skipped; `manifest.json` lists each "
        "with its reason.",
    ]


def _recipe_section(manifest: dict[str, Any]) -> list[str]:
    """The recipe to rebuild the dataset, and the citation."""
    return [
        "## Recipe",
        "",
        "Rebuild this dataset with the same recipe, seed, faces and occluder library: byte for byte with the "
        "package versions `manifest.json` records, on a machine of the same CPU kind (on another CPU the same "
        "samples, with landmarks that differ by a fraction of a pixel):",
        "",
        "```json",
        json.dumps(manifest["recipe"], indent=2, sort_keys=True),
        "```",
        "",
        "## Citation",
        "",
        "The task follows *Uncertainty-Guided Face Matting for Occlusion-Aware Face Transformation* "
        "(Cho and Lee, ACM MM 2025, arXiv:2508.03055).",
        "",
    ]


def write_card(out: str | Path, manifest: dict[str, Any]) -> Path:
    """Write ``README.md`` with YAML front matter and the card text (atomically)."""
    from huggingface_hub import DatasetCard

    card = DatasetCard(f"---\n{card_data(manifest).to_yaml()}\n---\n\n{card_text(manifest)}")
    path = Path(out) / "README.md"
    atomic_write_text(path, str(card))
    return path


def _load_card(path: str | Path) -> DatasetCard:
    from huggingface_hub import DatasetCard

    path = Path(path)
    if not path.is_file():  # DatasetCard.load would take a missing path for a Hub repo id
        raise FileNotFoundError(f"{path} does not exist")
    return DatasetCard.load(path)


def read_card_yaml(path: str | Path) -> dict[str, Any]:
    """The YAML front matter of a card as a plain dict (``{}`` when there is none)."""
    return _load_card(path).data.to_dict()


def card_infos(path: str | Path) -> dict[str, Any]:
    """The ``datasets.DatasetInfo`` of each config that a card's ``dataset_info`` declares, parsed as
    ``load_dataset`` parses it (features as ``datasets.Features``, splits as ``SplitInfo``)."""
    from datasets.info import DatasetInfosDict

    return dict(DatasetInfosDict.from_dataset_card_data(_load_card(path).data))
