"""What a named test really runs: its source and the test code it reaches by name, read with ast.

A registry says "test X runs command C". To keep it honest, the test's own code must show C:
the test function, the fixtures it asks for, the helpers and constants it names (followed
through the test modules, conftest.py files and test helpers they come from), and the import
lines of the project code it calls. Project code outside ``tests/`` is not followed: a CLI that
defines a subcommand does not prove that a test runs it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from phase1_foundations.settings import PROJECT_ROOT

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign


@dataclass(frozen=True)
class Module:
    path: Path
    text: str
    definitions: dict[str, Definition]
    imports: dict[str, tuple[str, str, str]]  # local name -> (module, name, import line)


@dataclass
class Reach:
    """The source text a test reaches; ``seen`` keeps the walk finite."""

    texts: list[str] = field(default_factory=list)
    seen: set[tuple[Path, str]] = field(default_factory=set)

    @property
    def source(self) -> str:
        return "\n".join(self.texts)


def module_path(module: str) -> Path | None:
    base = PROJECT_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def is_test_code(path: Path) -> bool:
    parts = path.relative_to(PROJECT_ROOT).parts
    return "tests" in parts or path.name == "conftest.py"


@cache
def parse(path: Path) -> Module:
    text = path.read_text()
    tree = ast.parse(text)
    definitions: dict[str, Definition] = {}
    imports: dict[str, tuple[str, str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            definitions[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    definitions[target.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            definitions[node.target.id] = node
        elif isinstance(node, ast.ImportFrom) and node.module:
            line = ast.get_source_segment(text, node) or ""
            for alias in node.names:
                imports[alias.asname or alias.name] = (node.module, alias.name, line)
    return Module(path, text, definitions, imports)


def conftests(path: Path) -> list[Path]:
    """The conftest.py files whose fixtures a test at ``path`` can ask for."""
    found = []
    for directory in [path.parent, *path.parent.parents]:
        if (directory / "conftest.py").is_file():
            found.append(directory / "conftest.py")
        if directory == PROJECT_ROOT:
            break
    return found


def names_in(node: ast.AST) -> set[str]:
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        names |= {a.arg for a in node.args.args + node.args.kwonlyargs}  # fixtures
    return names


def visit(path: Path, name: str, reach: Reach) -> None:
    if (path, name) in reach.seen:
        return
    reach.seen.add((path, name))
    module = parse(path)
    if name in module.definitions:
        node = module.definitions[name]
        reach.texts.append(ast.get_source_segment(module.text, node) or "")
        for used in names_in(node):
            resolve(path, used, reach)
    elif name in module.imports:
        source_module, source_name, line = module.imports[name]
        reach.texts.append(line)
        source = module_path(source_module)
        if source is not None and is_test_code(source):
            visit(source, source_name, reach)


def resolve(path: Path, name: str, reach: Reach) -> None:
    """A name used in ``path``: its definition there, where it is imported from, or a fixture."""
    module = parse(path)
    if name in module.definitions or name in module.imports:
        visit(path, name, reach)
        return
    for conftest in conftests(path):
        if name in parse(conftest).definitions:
            visit(conftest, name, reach)
            return


def reached_source(node_id: str) -> str:
    """The text of the test ``module::function`` and of the test code it reaches by name."""
    module, _, function = node_id.partition("::")
    path = module_path(module)
    if path is None:
        raise LookupError(f"{node_id}: no module {module}")
    if not path.name.startswith("test_") or not function.startswith("test_"):
        raise LookupError(f"{node_id}: not a test pytest collects (test_*.py::test_*)")
    if function not in parse(path).definitions:
        raise LookupError(f"{node_id}: {path.relative_to(PROJECT_ROOT)} has no {function}")
    reach = Reach()
    visit(path, function, reach)
    return reach.source
