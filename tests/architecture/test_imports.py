"""Architecture test: walk every import in emulator/, hw_models/, traces/ and scripts/ and fail on a wrong one.

Sources are parsed with ``ast``, never imported; relative imports are resolved to absolute names. Every import
counts: module level, in functions (lazy) and under ``if TYPE_CHECKING:``; ``importlib`` calls are not seen.
Layers, lowest first:

    0 emulator.errors, emulator.scratch, emulator.progress    1 hw_models.*, traces.*    2 emulator.model.*    3 emulator.config
    4 emulator.chip.*, emulator.functional.*    5 emulator.records.*    6 emulator.runner, emulator.chunks, emulator.parallel
    7 emulator.reports.*, emulator.sweep.*, emulator.train.*    8 emulator.cli.*
    9 emulator (the package __init__, a lazy public face)    10 scripts.*

Rules, one test each:
1. Layers only point down: a module imports only modules of its own layer or lower (and every project
   module has a layer).
2. emulator.chip and emulator.functional never import each other.
3. emulator.reports never imports emulator.runner, .chip, .functional, .sweep or .cli.
4. hw_models and traces import nothing from emulator but its layer-0 utilities (errors, scratch, progress).
5. Across units (the emulator package itself; emulator.<sub>, where config, errors, scratch, progress, runner, chunks and parallel count as
   one-module packages; hw_models.<module>; traces.<module>), emulator and scripts modules import only the
   unit's public face, never a deeper module (a submodule the face lists in ``__all__``, like
   ``from ..reports import plots``, is part of it), and never a _private name. Within a unit anything goes.
6. Every emulator subpackage __init__.py (not emulator/__init__.py) defines ``__all__`` as a list or tuple of
   string literals, and binds every name in it.

The rules are explained in docs/design.md, section "Architecture".
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("emulator", "hw_models", "traces", "scripts")
UTILITIES = ("emulator.errors", "emulator.scratch", "emulator.progress")  # layer 0: import nothing of ours
LAYERS = {**dict.fromkeys(UTILITIES, 0), "hw_models": 1, "traces": 1, "emulator.model": 2, "emulator.config": 3,
          "emulator.chip": 4, "emulator.functional": 4, "emulator.records": 5, "emulator.runner": 6,
          "emulator.parallel": 6, "emulator.chunks": 6, "emulator.reports": 7, "emulator.sweep": 7, "emulator.train": 7,
          "emulator.cli": 8, "scripts": 10}
SOURCES = sorted((p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))
                 for top in PACKAGES if (ROOT / top).is_dir() for p in (ROOT / top).rglob("*.py"))


def module_name(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


KNOWN = {module_name(path) for path, _ in SOURCES} | LAYERS.keys()  # what `from pkg import x` may name as x


def face(module: str) -> str:
    """The unit a module belongs to, named by its public face: emulator.chip, hw_models.cost, emulator."""
    return ".".join(module.split(".")[:2])


def layer(module: str) -> int | None:
    top = module.split(".")[0]
    return 9 if module == "emulator" else LAYERS.get(face(module) if top == "emulator" else top)


class Import(NamedTuple):
    line: int
    target: str  # absolute module name
    names: tuple[str, ...] = ()  # the names taken from it by `from target import ...`; () for `import target`
    via: str | None = None  # for `from pkg import sub`, where target is the submodule pkg.sub: pkg


@cache
def imports(path: str, source: str) -> tuple[Import, ...]:
    """Every import of a project module in the file, at any depth, with relative names resolved."""
    me = module_name(path)
    package = me.split(".") if path.endswith("__init__.py") else me.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            found += [Import(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # a relative import climbing above the top package gets a name with no layer
                up = len(package) - node.level + 1
                base = package[:up] if up > 0 else ["emulator", "<above top package>"]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            names = [a.name for a in node.names if f"{module}.{a.name}" not in KNOWN]
            found += [Import(node.lineno, f"{module}.{a.name}", via=module) for a in node.names if a.name not in names]
            found += [Import(node.lineno, module, tuple(names))] if names else []  # the rest are attributes
    return tuple(i for i in found if i.target.split(".")[0] in PACKAGES)


def _report(path: str, imp: Import, note: str = "") -> str:
    name = f" ({', '.join(imp.names)})" if imp.names else ""
    return f"{path}:{imp.line}: {module_name(path)} -> {imp.target}{name}{note}"


def check_layers(path: str, source: str) -> list[str]:
    """Rule 1: layers only point down (importer layer >= imported layer; every module has a layer)"""
    mine, out = layer(module_name(path)), []
    for imp in imports(path, source):
        theirs = layer(imp.target)
        if mine is None or theirs is None or theirs > mine:
            out.append(_report(path, imp, f"  [layer {mine} -> {'unmapped' if theirs is None else theirs}]"))
    return out


def check_chip_functional(path: str, source: str) -> list[str]:
    """Rule 2: emulator.chip and emulator.functional never import each other"""
    pair = {"emulator.chip", "emulator.functional"}
    mine = face(module_name(path))
    return [_report(path, imp) for imp in imports(path, source)
            if mine in pair and face(imp.target) in pair - {mine}]


def check_reports(path: str, source: str) -> list[str]:
    """Rule 3: emulator.reports never imports emulator.runner, .chip, .functional, .sweep or .cli"""
    banned = {"emulator.runner", "emulator.chip", "emulator.functional", "emulator.sweep", "emulator.cli"}
    return [_report(path, imp) for imp in imports(path, source)
            if face(module_name(path)) == "emulator.reports" and face(imp.target) in banned]


def check_leaves(path: str, source: str) -> list[str]:
    """Rule 4: hw_models and traces import nothing from emulator but its layer-0 utilities"""
    return [_report(path, imp) for imp in imports(path, source) if path.split("/")[0] in ("hw_models", "traces")
            and imp.target.split(".")[0] == "emulator" and face(imp.target) not in UTILITIES]


def check_faces(path: str, source: str) -> list[str]:
    """Rule 5: across units, emulator and scripts import only public faces, and no _private names"""
    out, me = [], module_name(path)
    for imp in imports(path, source) if path.split("/")[0] in ("emulator", "scripts") else ():
        if face(imp.target) == face(me):
            continue
        exported = imp.via == face(imp.target) and imp.target.rsplit(".", 1)[1] in exports(imp.via)
        if imp.target != face(imp.target) and not exported:
            out.append(_report(path, imp, f"  [import from {face(imp.target)}]"))
        elif any(n.startswith("_") and not n.startswith("__") for n in imp.target.split(".") + list(imp.names)):
            out.append(_report(path, imp, "  [private name]"))
    return out


def _bound_names(tree: ast.Module) -> set[str]:
    """Names bound at module level (not inside functions or classes), also in if/try/for/with blocks."""
    bound, todo = set(), list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {a.asname or a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        todo += ast.iter_child_nodes(node)
    return bound


def _all_values(tree: ast.Module) -> list[tuple[int, ast.expr]]:
    """The (line, value) of each module-level assignment to __all__."""
    return [(node.lineno, node.value) for node in tree.body
            if isinstance(node, ast.Assign) and "__all__" in [getattr(t, "id", None) for t in node.targets]
            or isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "__all__" and node.value]


@cache
def exports(package: str) -> set[str]:
    """The string literals in the package's __all__ (a submodule listed there is part of its public face)."""
    path = f"{package.replace('.', '/')}/__init__.py"
    try:
        values = _all_values(ast.parse(dict(SOURCES).get(path, ""), path))
    except SyntaxError:
        return set()
    return {e.value for _, v in values for e in getattr(v, "elts", []) if isinstance(e, ast.Constant)}


def check_all(path: str, source: str) -> list[str]:
    """Rule 6: every emulator subpackage __init__.py has a literal __all__ whose names it binds"""
    if not (path.startswith("emulator/") and path.endswith("/__init__.py")) or path == "emulator/__init__.py":
        return []
    tree = ast.parse(source, path)
    values = _all_values(tree)
    if not values:
        return [f"{path}:1: {module_name(path)} defines no __all__"]
    out, bound = [], _bound_names(tree)
    for line, value in values:
        if not (isinstance(value, (ast.List, ast.Tuple))
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts)):
            out.append(f"{path}:{line}: {module_name(path)}.__all__ is not a list or tuple of string literals")
            continue
        out += [f"{path}:{line}: {module_name(path)}.__all__ names {e.value!r}, which the file does not bind"
                for e in value.elts if e.value not in bound]
    return out


def _check(checker) -> None:
    assert SOURCES, f"no sources found under {ROOT}"
    problems = []
    for path, source in SOURCES:
        try:
            problems += checker(path, source)
        except SyntaxError:  # reported by test_sources_parse
            pass
    assert not problems, f"{checker.__doc__} ({len(problems)} violations):\n  " + "\n  ".join(problems)


def test_sources_parse():
    for path, source in SOURCES:  # the rule tests skip a file that does not parse; this fails on it
        ast.parse(source, path)


def test_layers_only_point_down():
    _check(check_layers)


def test_chip_and_functional_are_independent():
    _check(check_chip_functional)


def test_reports_do_not_run_anything():
    _check(check_reports)


def test_hw_models_and_traces_only_use_the_utilities():
    _check(check_leaves)


def test_imports_go_through_public_faces():
    _check(check_faces)


def test_subpackages_declare_all():
    _check(check_all)


def test_checker_catches_violations():
    source = "from ..functional import simulate\nfrom ..model import Network\n\ndef f():\n    from ..reports import plots\n"
    upward = check_layers("emulator/chip/x.py", source)
    assert len(upward) == 1 and upward[0].startswith("emulator/chip/x.py:5: emulator.chip.x -> emulator.reports")
    sideways = check_chip_functional("emulator/chip/x.py", source)
    assert sideways == ["emulator/chip/x.py:1: emulator.chip.x -> emulator.functional (simulate)"]
    assert len(check_faces("emulator/run.py", "from .chip.chip import Chip\nfrom .chip import _hidden\n")) == 2
    assert check_faces("emulator/chip/modes/ticks.py", "from ..counters import _x\n") == []
