"""Each package's code imports only what the extras it is installed with declare.

The phase-1 image installs the core dependencies alone, the serving image core + `serving`, and
the pipelines run with core + `pipelines`. A package that is imported but only arrives as some
other package's dependency (scipy through scikit-learn, say) works until that package drops it.
So every third-party import, in a package and in the project modules it imports, must be declared
directly by the core dependencies or by that package's extra.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from phase1_foundations.settings import PROJECT_ROOT

PROJECT_PACKAGES = (
    "phase1_foundations",
    "phase2_pipelines",
    "phase3_serving",
    "phase4_monitoring",
    "phase5_capstone",
    "docs",
)
INSTALLED_WITH = {
    "phase1_foundations": (),  # the phase-1 image: core dependencies only
    "phase2_pipelines": ("pipelines",),
    "phase3_serving": ("serving",),  # the serving image: core + serving
    # The monitor reads the registry (pipelines), the prediction log and the service (serving).
    "phase4_monitoring": ("pipelines", "serving", "monitoring"),
    "phase5_capstone": ("pipelines", "serving", "monitoring"),  # it runs phases 1-4
    "docs": ("pipelines", "serving", "monitoring", "docs"),  # it reads the live system
}
# A module that only its own extra installs: what it alone imports needs that extra too, and no
# other module may import it (or the extra would be needed by everything that does).
OPTIONAL_MODULES = {
    "phase5_capstone.orchestrator": ("orchestrator",),  # the Dagster runner
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing project module, e.g. phase3_serving.compiled
    name: str  # the imported top-level name, e.g. scipy


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_names(tree: ast.AST) -> set[str]:
    """Absolute imports anywhere in a module (lazy ones too), except under TYPE_CHECKING."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and is_type_checking(node.test):
            node.body = []
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


@cache
def project_modules() -> dict[str, Path]:
    """Every installed module of the project packages, by dotted name (tests and lessons are not
    in the wheel: they run in the project's environment, which has every extra)."""
    return {
        module_name(path): path
        for package in PROJECT_PACKAGES
        for path in (PROJECT_ROOT / package).rglob("*.py")
        if not {"tests", "lesson"} & set(path.relative_to(PROJECT_ROOT).parts)
    }


def third_party_imports(package: str) -> list[Import]:
    """Third-party imports of a package's modules and of every project module they reach."""
    modules = project_modules()
    todo = [name for name in modules if name.split(".")[0] == package]
    seen: set[str] = set()
    found: list[Import] = []
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in imported_names(ast.parse(modules[current].read_text())):
            top = name.split(".")[0]
            if top in PROJECT_PACKAGES:
                todo += [
                    candidate
                    for candidate in (name, name.rsplit(".", 1)[0])
                    if candidate in modules
                ]
            elif top not in sys.stdlib_module_names and top != "__future__":
                found.append(Import(current, top))
    return found


def declared(extras: tuple[str, ...]) -> set[str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return {canonicalize_name(Requirement(line).name) for line in requirements}


def undeclared(package: str, extras: tuple[str, ...]) -> list[str]:
    providers = packages_distributions()
    problems = []
    for found in third_party_imports(package):
        with_extras = (*extras, *OPTIONAL_MODULES.get(found.module, ()))
        distributions = {canonicalize_name(d) for d in providers.get(found.name, [])}
        if not distributions & declared(with_extras):
            problems.append(
                f"{found.module} imports {found.name} (from {sorted(distributions) or '?'}), "
                f"which {' + '.join(('core', *with_extras))} does not declare"
            )
    return sorted(set(problems))


@pytest.mark.parametrize("package", sorted(INSTALLED_WITH))
def test_every_import_is_declared_by_its_extras(package: str) -> None:
    assert undeclared(package, INSTALLED_WITH[package]) == []


@pytest.mark.parametrize("optional", sorted(OPTIONAL_MODULES))
def test_no_module_imports_an_optional_one(optional: str) -> None:
    importers = [
        name
        for name, path in project_modules().items()
        if optional in imported_names(ast.parse(path.read_text())) and name != optional
    ]
    assert importers == []


def test_an_optional_modules_imports_need_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without its own extra, the Dagster runner's imports are reported."""
    monkeypatch.delitem(OPTIONAL_MODULES, "phase5_capstone.orchestrator")
    problems = undeclared("phase5_capstone", INSTALLED_WITH["phase5_capstone"])
    assert any(p.startswith("phase5_capstone.orchestrator imports dagster") for p in problems)


def test_an_import_that_only_arrives_transitively_is_reported() -> None:
    """scipy comes with scikit-learn anyway; serving code imports it, so serving declares it."""
    problems = undeclared("phase3_serving", ())
    assert any(p.startswith("phase3_serving.compiled imports scipy") for p in problems), problems
    assert "scipy" not in declared(())  # the core leaves it to the extra
