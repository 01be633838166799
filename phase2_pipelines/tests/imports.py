"""Which project modules a piece of code imports, read from the source (``ast``), not guessed.

An import inside a function counts (it runs when the function does); an import under
``if TYPE_CHECKING:`` does not (it never runs). Only the project's own packages are followed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

from phase1_foundations.settings import PROJECT_ROOT

PACKAGES = ("phase1_foundations", "phase2_pipelines")


def module_path(module: str) -> Path | None:
    """The file of a project module or package, or None if ``module`` is not one of ours."""
    if module.split(".")[0] not in PACKAGES:
        return None
    base = PROJECT_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _statements(nodes: Iterable[ast.stmt], nested: bool) -> Iterator[ast.stmt]:
    for node in nodes:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _statements(node.orelse, nested)
            continue
        yield node
        if nested:
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, [])
                yield from _statements([c for c in children if isinstance(c, ast.stmt)], nested)
            for handler in getattr(node, "handlers", []):
                yield from _statements(handler.body, nested)


def direct_imports(module: str, *, nested: bool = True) -> set[str]:
    """Project modules ``module`` imports (at module level only, unless ``nested``)."""
    path = module_path(module)
    if path is None:
        return set()
    found: set[str] = set()
    for node in _statements(ast.parse(path.read_text()).body, nested):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found |= {name for name in names if module_path(name) is not None}
    return found


def _with_packages(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def import_closure(start: Iterable[str]) -> set[str]:
    """``start`` and every project module they import, directly or not (packages included)."""
    seen: set[str] = set()
    pending = [name for module in start for name in _with_packages(module)]
    while pending:
        module = pending.pop()
        if module in seen or module_path(module) is None:
            continue
        seen.add(module)
        pending.extend(name for found in direct_imports(module) for name in _with_packages(found))
    return seen


def has_code(module: str) -> bool:
    """False for a file holding nothing but a docstring (an empty ``__init__.py``, say)."""
    path = module_path(module)
    assert path is not None
    body = ast.parse(path.read_text()).body
    return any(not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in body)


def stage_modules(stage: str) -> set[str]:
    """What ``python -m phase2_pipelines stage NAME`` runs: ``__main__``'s module-level imports
    and the stage's own module, each with everything they import."""
    entry = "phase2_pipelines.__main__"
    start = {*direct_imports(entry, nested=False), f"phase2_pipelines.stages.{stage}"}
    return {entry} | {module for module in import_closure(start) if has_code(module)}


def stage_files(stage: str) -> set[str]:
    """``stage_modules`` as paths relative to the project root, as ``dvc.yaml`` lists them."""
    paths = (module_path(module) for module in stage_modules(stage))
    return {path.relative_to(PROJECT_ROOT).as_posix() for path in paths if path is not None}
