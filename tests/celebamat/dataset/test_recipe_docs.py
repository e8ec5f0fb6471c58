"""recipes/README.md documents every key the recipe validators accept, every source option and every bundled recipe.

The keys are taken from the validators themselves: each table is given an unknown key, and the refusal names
the keys that table allows. A key added to a validator without a line in the README fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from celebamat.dataset.recipe import recipe_from_dict, recipes_dir
from celebamat.errors import CelebAMatError, RecipeError

README = Path(__file__).resolve().parents[3] / "recipes" / "README.md"
UNKNOWN = "no_such_key"


def _allowed(message: str) -> list[str]:
    """The key names listed after 'allowed:' in a refusal."""
    listed = message.split("allowed:", 1)[1]
    listed = re.sub(r"^\s*(keys|one of)\s+", "", listed)
    return [k for k in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", listed) if k != "and"]


def _refused(data: dict) -> list[str]:
    with pytest.raises(RecipeError) as err:
        recipe_from_dict(data)
    assert repr(UNKNOWN) in str(err.value) or f".{UNKNOWN}'" in str(err.value), str(err.value)
    return _allowed(str(err.value))


def _has_row(text: str, key: str) -> bool:
    """Whether a table row of the README starts with ``key`` (its own line of type, default and meaning)."""
    return re.search(rf"^\| `{re.escape(key)}` \|", text, re.MULTILINE) is not None


def validator_keys() -> list[str]:
    """Every recipe key the validators accept, spelled as the README writes them (``table.key``)."""
    keys = _refused({UNKNOWN: 1})
    out = list(keys)
    for table in ("faces", "splits", "occluders", "realism", "output"):
        assert table in keys
        out += [f"{table}.{k}" for k in _refused({table: {UNKNOWN: 1}})]
    # The sub-keys of a realism chance table (the same for every chance).
    out += _refused({"realism": {"shadow": {UNKNOWN: 1}}})
    return out


def source_options() -> list[str]:
    from celebamat.faces import open_source

    out = []
    for spec in ("demo", "folder:/nonexistent", "celebamask-hq:/nonexistent"):
        with pytest.raises(CelebAMatError) as err:
            open_source(spec, **{UNKNOWN: 1})
        out += _allowed(str(err.value))
    return out


def test_every_validated_key_is_documented():
    text = README.read_text(encoding="utf-8")
    keys = validator_keys()
    assert {"seed", "faces.source", "occluders.count", "realism.jpeg", "output.rows_per_shard", "range"} <= set(keys)
    missing = [k for k in keys if not _has_row(text, k)]
    assert not missing, f"recipes/README.md does not describe {missing}"


def test_every_source_option_is_documented():
    text = README.read_text(encoding="utf-8")
    options = source_options()
    assert {"variants", "mask_suffix", "occlusion_filter"} <= set(options)
    missing = [o for o in options if not _has_row(text, o)]
    assert not missing, f"recipes/README.md does not describe the source options {missing}"


def test_every_bundled_recipe_is_described():
    text = README.read_text(encoding="utf-8")
    names = sorted(p.stem for p in recipes_dir().glob("*.toml"))
    assert "demo" in names
    missing = [n for n in names if f"`{n}`" not in text and f"`{n}.toml`" not in text]
    assert not missing, f"recipes/README.md does not describe the bundled recipes {missing}"


def _default_cell(text: str, key: str) -> str:
    """The default column of ``key``'s row in the README."""
    row = re.search(rf"^\| `{re.escape(key)}` \|([^|]*)\|([^|]*)\|", text, re.MULTILINE)
    assert row is not None, key
    return row.group(2)


def test_realism_defaults_are_the_documented_ones():
    from dataclasses import fields

    from celebamat.synth.config import Chance, RealismConfig

    text = README.read_text(encoding="utf-8")
    checked = 0
    for f in fields(RealismConfig):
        value = getattr(RealismConfig(), f.name)
        numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", _default_cell(text, f"realism.{f.name}"))]
        expected = [value.probability, *value.range] if isinstance(value, Chance) else [float(v) for v in value]
        assert numbers == pytest.approx(expected), f"recipes/README.md: default of realism.{f.name}"
        checked += 1
    assert checked >= 15
