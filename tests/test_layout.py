"""The test support stays where every app's tests find it: makers in `tests/factories.py` (and an
app's `factories.py`), helpers in `tests/support.py`, fixtures in `conftest.py` files. A test module
imports from none of the other test modules, and none loads another as a plugin."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _absolute(node: ast.ImportFrom, package: list[str]) -> str:
    """The module an import names, a relative one ("from .test_x import y") resolved in `package`."""
    if not node.level:
        return node.module or ""
    parts = package[: len(package) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


def _package(path: Path) -> list[str]:
    return list(path.relative_to(TESTS.parent).parent.parts)


def _imports_of_test_modules(path: Path, package: str = "") -> list[str]:
    """The test modules `path` imports; `package`: its package ("tests.community"), by default
    where it lies under the project."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or node.level):
            module = _absolute(
                node, (package.split(".") if package else _package(path)) if node.level else []
            )
            modules = [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytest_plugins" for target in node.targets
        ):
            found.append("pytest_plugins")
            continue
        else:
            continue
        found += [m for m in modules if m.startswith("tests.") and m.rsplit(".", 1)[-1].startswith("test_")]
    return found


def test_no_test_module_imports_another_or_loads_it_as_a_plugin():
    offenders = {
        str(path.relative_to(TESTS)): imports
        for path in sorted(TESTS.rglob("*.py"))
        if (imports := _imports_of_test_modules(path))
    }
    assert offenders == {}


def test_the_check_sees_an_import_of_a_test_module(tmp_path):
    module = tmp_path / "test_example.py"
    module.write_text(
        "from tests.loyalty.test_rules import TRIP\nfrom tests.loyalty import test_tiers\n"
        'pytest_plugins = ["tests.x"]\nfrom tests.factories import member_make\n'
    )
    assert _imports_of_test_modules(module) == [
        "tests.loyalty.test_rules",
        "tests.loyalty.test_tiers",
        "pytest_plugins",
    ]


def test_the_check_sees_a_relative_import_of_a_test_module(tmp_path):
    module = tmp_path / "test_example.py"
    module.write_text(
        "from .test_draws import draw_make\nfrom . import factories\nfrom ..e2e.test_x import y\n"
    )
    assert _imports_of_test_modules(module, package="tests.community") == [
        "tests.community.test_draws",
        "tests.e2e.test_x",
    ]
