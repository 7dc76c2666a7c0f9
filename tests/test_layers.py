"""A feature's ``tasks.py`` is its top (ADR 34): tasks import services, and nothing a task depends on imports a
task module back. Services queue work by the task's name (``enqueue_after_commit("titles.evaluate_commune", …)``).

The import graph is read from the source with ``ast`` — every ``import`` anywhere in a module, including those
inside functions, which is where such cycles used to hide.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from celery import current_app as current_celery

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lms", "courses")


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The modules of ``known`` that the module ``name`` imports, anywhere in its body."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join([*package[: len(package) - node.level + 1], *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
            yield from submodules
            if len(submodules) < len(node.names):
                yield base  # a name defined in the module itself


def import_graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, set[str]]:
    """Module → the modules it imports. A package's ``__init__`` is left out as a target: importing a feature package
    reaches its blueprint, and the ``__init__`` files are the wiring that imports every route (the app factory's
    table of contents) — they sit above everything by design."""
    known = modules(root, packages)
    return {
        name: {
            other
            for other in imported(name, path, known)
            if other in known and other != name and known[other].name != "__init__.py"
        }
        for name, path in known.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def test_no_import_cycle_goes_through_a_task_module():
    bad = [sorted(c) for c in cycles(import_graph()) if any(m.rsplit(".", 1)[-1] == "tasks" for m in c)]
    assert bad == [], (
        "a task module is imported (perhaps inside a function) by a module it depends on; queue the task by its "
        f"name with enqueue_after_commit('<task name>', …) instead: {bad}"
    )


def features(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Each feature package (``courses``, ``lms.titles``, ``lms.core``…) with its modules; a module directly in
    ``lms`` (``celery``, ``work``…) stands alone."""
    found: dict[str, set[str]] = {}
    for name in graph:
        parts = name.split(".")
        feature = parts[0] if parts[0] != "lms" else ".".join(parts[:2])
        found.setdefault(feature, set()).add(name)
    return found


def test_no_import_cycle_between_the_modules_of_a_feature():
    """Inside a feature, layers go one way: models ← services ← tasks, views, API. (Cycles that pass through
    other features are a question of the dependency direction between features, DESIGN.md §2.)"""
    graph = import_graph()
    bad = {
        feature: [sorted(c) for c in cycles({m: graph[m] & members for m in members})]
        for feature, members in features(graph).items()
    }
    assert {feature: found for feature, found in bad.items() if found} == {}


def test_no_module_below_the_top_imports_a_task_module():
    """Only the top of the application may import a ``tasks`` module: the package ``__init__`` files (the app factory
    registers the tasks), views, API, CLI and other task modules. Everything else queues by name."""
    known = modules(ROOT, PACKAGES)
    top = ("views", "api", "cli", "tasks")
    offenders = sorted(
        (name, target)
        for name, targets in import_graph().items()
        for target in targets
        if target.rsplit(".", 1)[-1] == "tasks"
        and known[name].name != "__init__.py"
        and not name.rsplit(".", 1)[-1].endswith(top)
    )
    assert offenders == []


def test_the_checker_sees_a_cycle_hidden_in_a_function(tmp_path):
    feature = tmp_path / "feat"
    feature.mkdir()
    (feature / "__init__.py").write_text("")
    (feature / "tasks.py").write_text("from feat import services\n")
    (feature / "services.py").write_text("def mark():\n    from feat.tasks import run\n")
    (feature / "models.py").write_text("from . import services\n")
    assert cycles(import_graph(tmp_path, ["feat"])) == [{"feat.tasks", "feat.services"}]
    (feature / "services.py").write_text("def mark():\n    enqueue_after_commit('feat.run')\n")
    assert cycles(import_graph(tmp_path, ["feat"])) == []


def _queued_names() -> set[tuple[str, str]]:
    names = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", getattr(node.func, "attr", None)) == "enqueue_after_commit"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    names.add((str(path.relative_to(ROOT)), node.args[0].value))
    return names


def test_every_task_queued_by_name_exists(app):
    queued = _queued_names()
    assert {name for _, name in queued} >= {"titles.evaluate_commune", "courses.recompute_completions"}
    registered = set(current_celery.tasks)
    assert [(path, name) for path, name in sorted(queued) if name not in registered] == []


def test_an_unknown_task_name_is_refused_when_queued(app_ctx):
    from lms.celery import enqueue_after_commit

    with pytest.raises(LookupError, match=r"titles\.evaluate_comune"):
        enqueue_after_commit("titles.evaluate_comune", commune_id=1, year=2025)


ENTRY_POINTS = [
    "lms.worker",  # celery -A lms.worker
    "lms.celery",
    "lms.api.schema",
    "lms.api.errors",
    "courses.tasks",
    "lms.registry.tasks",
    "lms.titles.tasks",
    "lms.targets.tasks",
    "tests.integration.drill_worker",  # the drills' worker
]


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_every_entry_point_imports_on_its_own(module: str) -> None:
    """A worker or a script imports one module first, not the app factory: a cycle that the usual import order
    hides (a package ``__init__`` importing its pages) fails there, in a fresh interpreter."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
