"""The house's rules for imports and sizes (``docs/architecture.md``), checked from the source by
``tools/check_imports.py`` (also runnable alone: ``python -m tools.check_imports``)."""

from __future__ import annotations

import textwrap

import pytest

from tools import check_imports as ci


@pytest.fixture(scope="module")
def report():
    return ci.check()


@pytest.mark.parametrize("rule", ["floors", "circles", "facemat", "size"])
def test_the_house_rules_hold(report, rule):
    faults = report.faults[rule]
    assert not faults, f"{rule}:\n  " + "\n  ".join(faults)


def test_the_known_list_only_shrinks(report):
    assert not report.stale_known, ("these KNOWN entries no longer occur; remove them from tools/check_imports.py:\n  "
                                    + "\n  ".join(report.stale_known))


def _tree(tmp_path, files: dict[str, str]):
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    for pkg in ci.PACKAGES:
        (tmp_path / pkg).mkdir(exist_ok=True)
        (tmp_path / pkg / "__init__.py").touch()
    modules = ci.module_files(tmp_path)
    return modules, [imp for m, p in modules.items() for imp in ci.imports_of(m, p, modules)]


def test_the_checker_sees_arrows_up_circles_and_facemat_reaching_in(tmp_path):
    modules, imports = _tree(tmp_path, {
        "celebamat/faces/a.py": "def f():\n    from celebamat.dataset import b\n",  # up, inside a function
        "celebamat/dataset/__init__.py": "",
        "celebamat/dataset/b.py": "from . import c\n",
        "celebamat/dataset/c.py": "def g():\n    from celebamat.dataset.b import x\n",  # closes b -> c -> b
        "celebamat/synth/d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from celebamat.synth import e\n",
        "celebamat/synth/e.py": "import celebamat.synth.d\n",  # type-only back edge: no circle
        "facemat/m.py": "from celebamat.faces import a\nfrom celebamat.errors import CelebAMatError\n",
        "celebamat/errors.py": "",
    })
    floors = ci.check_floors(imports)
    assert len(floors) == 1 and floors[0].startswith("celebamat.faces.a imports celebamat.dataset.b (line 2)")
    assert [" -> ".join(c) for c in ci.find_cycles(imports, modules)] == [
        "celebamat.dataset.b -> celebamat.dataset.c -> celebamat.dataset.b"]
    door = ci.check_facemat_door(imports)
    assert any(f.startswith("facemat.m imports celebamat.faces.a") for f in door)
    assert not any("celebamat.errors (" in f for f in door)


def test_the_checker_measures_functions():
    import ast

    body = "\n".join(f"    x{i} = {i}" for i in range(ci.MAX_FUNCTION_LINES + 5))
    tree = ast.parse(f"class K:\n  def long(self):\n{body}\n\ndef short():\n    pass\n")
    assert [name for name, _ in ci.long_functions(tree)] == ["K.long"]
