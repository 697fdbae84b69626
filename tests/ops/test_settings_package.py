"""notifications_project/settings/: one module per concern, each setting assigned once,
never changed afterwards, no app code imported, every environment variable listed in
.env.example. Read from the modules' source (ast), so a second assignment fails here
even when it happens to assign the same value."""

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "notifications_project" / "settings"
MODULES = sorted(path for path in PACKAGE.glob("*.py") if path.name != "__init__.py")
# First-party code the settings may import: pure Python, no Django models or apps.
ALLOWED_FIRST_PARTY = {"notifications_project.queues", "apps.common.priorities"}
MUTATING_METHODS = {"update", "append", "extend", "insert", "setdefault", "pop", "clear", "remove", "__setitem__"}


def is_setting(name: str) -> bool:
    return name.isupper() and not name.startswith("_")


def base_name(node) -> str | None:
    """The variable a target or receiver starts from: X in X, X["a"]["b"], X.attr."""
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def module_statements(tree: ast.Module):
    """Statements run at import, including those inside module-level if/try/with."""
    pending = list(tree.body)
    while pending:
        node = pending.pop(0)
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, [])
            pending[:0] = [child for child in children if isinstance(child, ast.stmt | ast.excepthandler)]


def setting_writes(source: str, filename: str) -> tuple[list, list]:
    """(assignments, offences): assignments as (name, where); offences are changes of an
    existing setting (item or attribute assignment, +=, mutating calls) and dynamic
    assignments (vars(), globals(), `global`)."""
    tree = ast.parse(source, filename)
    assignments, offences = [], []
    for node in module_statements(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for element in target.elts if isinstance(target, ast.Tuple | ast.List) else [target]:
                    name = base_name(element)
                    if name and is_setting(name):
                        if isinstance(element, ast.Name) and not isinstance(node, ast.AugAssign):
                            assignments.append((name, where))
                        else:
                            offences.append(f"{where}: {name} changed after its assignment")
        if isinstance(node, ast.Global | ast.Delete):
            offences.append(f"{where}: {type(node).__name__.lower()} statement")
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = base_name(node.func.value)
            if name and is_setting(name) and node.func.attr in MUTATING_METHODS:
                offences.append(f"{where}: {name}.{node.func.attr}(...) changes a setting")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"vars", "globals"}:
            offences.append(f"{where}: {node.func.id}() assigns settings no reader can see")
    return assignments, offences


def package_writes():
    assignments, offences = [], []
    for path in MODULES:
        found, bad = setting_writes(path.read_text(), str(path.relative_to(ROOT)))
        assignments += found
        offences += bad
    return assignments, offences


def duplicates(assignments) -> dict[str, list[str]]:
    places = {}
    for name, where in assignments:
        places.setdefault(name, []).append(where)
    return {name: wheres for name, wheres in places.items() if len(wheres) > 1}


def test_each_setting_is_assigned_exactly_once_across_the_package():
    assignments, offences = package_writes()
    assert len(assignments) > 100, "the package's settings were not found"
    assert duplicates(assignments) == {}
    assert offences == []


def test_the_check_finds_a_second_assignment_and_a_later_change():
    first = setting_writes('TIMEOUT = 1\nROUTES = {"a": 1}\n', "one.py")
    second = setting_writes('TIMEOUT = 2\nROUTES["b"] = 2\nROUTES.update(c=3)\nvars().update(X=1)\n', "two.py")
    assert duplicates(first[0] + second[0]) == {"TIMEOUT": ["one.py:1", "two.py:1"]}
    assert second[1] == [
        "two.py:2: ROUTES changed after its assignment",
        "two.py:3: ROUTES.update(...) changes a setting",
        "two.py:4: vars() assigns settings no reader can see",
    ]


def first_party_imports(path: Path) -> list[tuple[str, int]]:
    """Absolute imports of the project's own code (apps.*, notifications_project.*)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module in ("apps", "notifications_project"):
                found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append((node.module, node.lineno))
    return [(name, line) for name, line in found if name.split(".")[0] in ("apps", "notifications_project")]


@pytest.mark.parametrize("path", [*MODULES, PACKAGE / "__init__.py"], ids=lambda path: path.name)
def test_imports_come_first_and_no_app_code_is_imported(path):
    body = ast.parse(path.read_text()).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    kinds = [isinstance(node, ast.Import | ast.ImportFrom) for node in body]
    assert kinds == sorted(kinds, reverse=True), f"{path.name}: an import after the first setting"
    for name, line in first_party_imports(path):
        assert name in ALLOWED_FIRST_PARTY, f"{path.name}:{line} imports {name}"


def test_the_queues_module_the_settings_import_imports_only_the_priorities():
    imported = first_party_imports(ROOT / "notifications_project" / "queues.py")
    assert [name for name, _ in imported] == ["apps.common.priorities"]


def test_loading_the_settings_loads_no_app_module():
    code = "import sys, notifications_project.settings; print(' '.join(m for m in sys.modules if m.startswith('apps')))"
    env = {**os.environ, "DEBUG": "true"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert set(result.stdout.split()) == {"apps", "apps.common", "apps.common.priorities"}


def test_the_package_exports_every_module_setting():
    package = importlib.import_module("notifications_project.settings")
    for path in MODULES:
        module = importlib.import_module(f"notifications_project.settings.{path.stem}")
        for name in filter(is_setting, vars(module)):
            assert getattr(package, name, None) is getattr(module, name), f"{path.stem}.{name} is not exported"


def environment_variables_read() -> set[str]:
    """First arguments of env("X"), env.int("X"), env.db("X") ... in the package."""
    names = set()
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = node.func
                if (isinstance(func, ast.Name) and func.id == "env") or (
                    isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env"
                ):
                    names.add(node.args[0].value)
    return names


def test_env_example_lists_every_environment_variable_the_settings_read():
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    read = environment_variables_read()
    assert {"DEBUG", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "API_KEY_THROTTLE_RATE"} <= read
    assert read - listed == set()
