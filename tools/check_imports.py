"""The house rules for imports, checked from the source (``python -m tools.check_imports``).

Reads every module of ``celebamat`` and ``facemat`` with :mod:`ast` (nothing is imported or run) and reports:

1. **floors**: a ``celebamat`` module that imports (at module level or inside a function) a room on a higher
   floor than its own. The floors, lowest first, are :data:`FLOORS`; a room imports only from its own floor
   and the ones below. ``celebamat`` never imports ``facemat``.
2. **circles**: a cycle of imports between two or more files. Imports deferred into a function count (a
   deferred import that closes a circle only hides it); imports under ``if TYPE_CHECKING:`` (never run) do
   not. Every cycle is reported with its files in order.
3. **facemat's door**: ``facemat`` imports ``celebamat`` only through the small public face-crop API in
   :data:`FACEMAT_MAY_IMPORT` (find faces, landmarks, align, paste back, read photos, errors).
4. **size**: a function longer than :data:`MAX_FUNCTION_LINES` lines or a module longer than
   :data:`MAX_MODULE_LINES` lines whose docstring does not give a reason (a line starting ``Size:``).

Violations that live in files being reworked elsewhere are listed in :data:`KNOWN` with the reason; they are
reported as known and do not fail the check, and a known entry that no longer occurs fails it (so the list
only shrinks). Exit status 0 when clean, 1 otherwise. ``tests/test_architecture.py`` runs the same checks.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("celebamat", "facemat")

# celebamat's floors, lowest first. A module's floor is that of the longest prefix listed here.
# celebamat.faces.detect and celebamat.faces.finder (find faces in a photo) are on the faces floor: they are
# part of the face-crop API that both the face sources and facemat use, and need only the ground floor.
FLOORS: dict[str, int] = {
    "celebamat": 0,  # the package itself (__init__: version and docstring only)
    "celebamat.utils": 0,
    "celebamat.errors": 0,
    "celebamat.landmarks": 0,
    "celebamat.hands": 0,
    "celebamat.faces": 1,
    "celebamat.occluders": 2,
    "celebamat.synth": 3,
    "celebamat.dataset": 4,
    "celebamat.commands": 5,
    "celebamat.cli": 5,
    "celebamat.__main__": 5,
}
FLOOR_NAMES = {0: "ground (utils, errors, landmarks, hands)", 1: "faces", 2: "occluders", 3: "synth",
               4: "dataset", 5: "commands/cli"}

# What facemat may import from celebamat: the small public face API, exactly the modules facemat uses today
# (an entry no longer used is reported, so the list stays exact). celebamat.faces.detect and celebamat.hands
# belong to the same face-crop API and join the list the day facemat needs them.
FACEMAT_MAY_IMPORT = frozenset({
    "celebamat.errors",  # CelebAMatError for bad input
    "celebamat.faces.align",  # alignment transform, align and warp back
    "celebamat.faces.finder",  # find faces in a photo (detector + landmarks)
    "celebamat.faces.io",  # read photos safely (size limits, EXIF orientation)
    "celebamat.faces.parts",  # CelebAMask-HQ's parts and painting order (the real-photo benchmark's truth)
    "celebamat.hands",  # a hand's mask from its 21 landmarks (the hand prior)
    "celebamat.landmarks",  # face mesh and named anchors (effects, realeval)
    # Ground floor, stdlib only: the one atomic write (facemat.io builds on it), sha256 of a file, output folders.
    "celebamat.utils.io",
    "celebamat.utils.hub",  # Hub token lookup and errors, shared by both push commands
})

MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 500

# Known violations, each in a file another change is reworking; the lead empties this list. An entry is
# (rule, text the report line starts with). Keep each with its reason.
KNOWN: list[tuple[str, str]] = [
]


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name of the importing file
    target: str  # dotted name of the module imported (a submodule where ``from pkg import sub`` names one)
    line: int
    type_only: bool  # under ``if TYPE_CHECKING:``: never runs


@dataclass
class Report:
    faults: dict[str, list[str]] = field(default_factory=dict)
    known: list[str] = field(default_factory=list)
    stale_known: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(self.faults.values()) and not self.stale_known


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the two packages."""
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(module: str, is_pkg: bool, level: int, name: str | None) -> str:
    if not level:
        return name or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """Every import of ``celebamat``/``facemat`` in one file (module level or inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    found: list[Import] = []

    def add(target: str, node: ast.AST, type_only: bool) -> None:
        if target.split(".")[0] in PACKAGES:
            found.append(Import(module, target, node.lineno, type_only))

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node, type_only)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_pkg, node.level, node.module)
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
            if len(subs) < len(node.names):  # some names are attributes of ``base`` itself
                add(base, node, type_only)
            for sub in subs:
                add(sub, node, type_only)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_only)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, type_only)

    visit(tree, False)
    return found


def floor_of(module: str) -> int | None:
    best = None
    for prefix in FLOORS:
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best)):
            best = prefix
    return None if best is None else FLOORS[best]


def _owner(target: str, modules: dict[str, Path]) -> str:
    """The file a dotted target lives in (the longest known module prefix)."""
    parts = target.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts)


def check_floors(imports: list[Import]) -> list[str]:
    faults = []
    for imp in imports:
        src, dst = imp.importer, imp.target
        if src.startswith("celebamat") and dst.startswith("facemat"):
            faults.append(f"{src} imports {dst} (line {imp.line}): celebamat never imports facemat")
            continue
        if not (src.startswith("celebamat") and dst.startswith("celebamat")):
            continue
        a, b = floor_of(src), floor_of(dst)
        if a is not None and b is not None and b > a:
            faults.append(f"{src} imports {dst} (line {imp.line}): {FLOOR_NAMES[a]} floor reaches up to "
                          f"{FLOOR_NAMES[b]}")
    return faults


def check_facemat_door(imports: list[Import]) -> list[str]:
    crossing = [imp for imp in imports if imp.importer.startswith("facemat") and imp.target.startswith("celebamat")]
    faults = [f"{imp.importer} imports {imp.target} (line {imp.line}): not in FACEMAT_MAY_IMPORT"
              for imp in crossing
              if not any(imp.target == m or imp.target.startswith(m + ".") for m in FACEMAT_MAY_IMPORT)]
    used = {m for m in FACEMAT_MAY_IMPORT for imp in crossing if imp.target == m or imp.target.startswith(m + ".")}
    faults += [f"FACEMAT_MAY_IMPORT lists {m}, which facemat no longer imports: remove it"
               for m in sorted(FACEMAT_MAY_IMPORT - used)]
    return faults


def find_cycles(imports: list[Import], modules: dict[str, Path]) -> list[list[str]]:
    """Strongly connected groups of files joined by imports that run, each as one cycle through it."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for imp in imports:
        dst = _owner(imp.target, modules)
        if not imp.type_only and dst and dst != imp.importer:
            graph[imp.importer].add(dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # Tarjan, iterative enough for this graph's depth
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return [_cycle_through(group, graph) for group in sorted(groups)]


def _cycle_through(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One shortest cycle from the group's first member back to itself."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & members):
            if w == start:
                return paths[v] + [start]
            if w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return group


def _documented(tree: ast.Module) -> bool:
    doc = ast.get_docstring(tree) or ""
    return any(line.strip().startswith("Size:") for line in doc.splitlines())


def long_functions(tree: ast.AST, limit: int = MAX_FUNCTION_LINES, prefix: str = "") -> list[tuple[str, int]]:
    """``(qualified name, lines)`` of every function (methods and nested functions too) over ``limit`` lines."""
    out = []
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{prefix}{child.name}"
            length = child.end_lineno - child.lineno + 1
            if length > limit:
                out.append((name, length))
            out.extend(long_functions(child, limit, name + "."))
        elif isinstance(child, ast.ClassDef):
            out.extend(long_functions(child, limit, f"{prefix}{child.name}."))
    return out


def check_sizes(modules: dict[str, Path], root: Path = ROOT) -> list[str]:
    faults = []
    for path in modules.values():
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        rel = path.relative_to(root).as_posix()
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES and not _documented(tree):
            faults.append(f"{rel}: {lines} lines, over {MAX_MODULE_LINES} with no 'Size:' reason in its docstring")
        faults.extend(f"{rel}: {name} is {length} lines, over {MAX_FUNCTION_LINES}"
                      for name, length in long_functions(tree))
    return faults


def check(root: Path = ROOT) -> Report:
    modules = module_files(root)
    imports = [imp for mod, path in modules.items() for imp in imports_of(mod, path, modules)]
    raw = {
        "floors": check_floors(imports),
        "facemat": check_facemat_door(imports),
        "circles": [" -> ".join(cycle) for cycle in find_cycles(imports, modules)],
        "size": check_sizes(modules, root),
    }
    report = Report()
    for rule, lines in raw.items():
        keep = []
        for line in lines:
            if any(rule == k_rule and line.startswith(k_text) for k_rule, k_text in KNOWN):
                report.known.append(f"[{rule}] {line}")
            else:
                keep.append(line)
        report.faults[rule] = keep
    report.stale_known = [f"[{r}] {t}" for r, t in KNOWN
                          if not any(line.startswith(t) for line in raw.get(r, []))]
    return report


def main() -> int:
    report = check()
    for rule, lines in report.faults.items():
        print(f"{rule}: {'ok' if not lines else f'{len(lines)} fault(s)'}")
        for line in lines:
            print(f"  {line}")
    if report.known:
        print(f"known, being fixed ({len(report.known)}):")
        for line in report.known:
            print(f"  {line}")
    for line in report.stale_known:
        print(f"stale KNOWN entry (no longer occurs, remove it): {line}")
    print("OK" if report.ok else "FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
