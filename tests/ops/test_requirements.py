"""`make run` installs requirements.txt only (the test tools come with `make test`), so
every library the running service imports must come from requirements.txt, directly or
as a dependency of a package pinned there."""

import ast
import importlib.util
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_CODE = [*ROOT.glob("apps/**/*.py"), *ROOT.glob("notifications_project/**/*.py"), *ROOT.glob("scripts/*.py")]
FIRST_PARTY = {"apps", "notifications_project", "scripts"}


def pinned(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(canonical(Requirement(line).name))
    return names


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def with_dependencies(names: set[str]) -> set[str]:
    """The distributions installing `names` brings in (as installed here, extras aside)."""
    seen, pending = set(), list(names)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for requirement in metadata.requires(name) or []:
            parsed = Requirement(requirement)
            if parsed.marker is None or parsed.marker.evaluate({"extra": ""}):
                pending.append(canonical(parsed.name))
    return seen


def _third_party(nodes, first_party: set[str]) -> set[str]:
    """The top-level modules the import statements among `nodes` name, but the standard
    library's and `first_party`."""
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found = [node.module]
        else:
            continue
        names |= {name.split(".")[0] for name in found}
    return {name for name in names if name not in first_party and name not in sys.stdlib_module_names}


def imported_top_level_modules() -> dict[str, str]:
    """Third-party module → one file of the running service that imports it."""
    found = {}
    for path in RUNTIME_CODE:
        for top in sorted(_third_party(ast.walk(ast.parse(path.read_text())), FIRST_PARTY)):
            found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def not_installed_by_run(modules) -> set[str]:
    installed_by_run = with_dependencies(pinned(ROOT / "requirements.txt"))
    providers = metadata.packages_distributions()
    return {module for module in modules if not {canonical(d) for d in providers.get(module, [])} & installed_by_run}


def test_every_library_the_service_imports_is_a_runtime_requirement():
    imported = imported_top_level_modules()
    missing = {module: imported[module] for module in not_installed_by_run(imported)}
    assert missing == {}, "imported by the service but installed only by requirements-dev.txt (or not at all)"
    assert {"aiosmtpd", "drf-spectacular-sidecar", "whitenoise"} <= pinned(ROOT / "requirements.txt")
    assert not {"pytest", "playwright", "ruff"} & pinned(ROOT / "requirements.txt")


def make_dry_run(target: str) -> str:
    """What `make <target>` would run from a clean clone (-B: no stamp is up to date)."""
    result = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout


# Loaded by the broker URL at run time, so no import of the service names them.
BROKER_TRANSPORTS = ["kombu.transport.redis", "kombu.transport.pyamqp"]


def test_what_the_broker_transports_import_is_installed_by_make_run():
    """A transport's module-level imports (its optional ones are in try blocks) must come
    with requirements.txt: kombu 5.7's Redis transport imports `packaging` without
    declaring it, and `make run`'s processes could not publish until it was pinned."""
    for transport in BROKER_TRANSPORTS:
        tree = ast.parse(Path(importlib.util.find_spec(transport).origin).read_text())
        assert not_installed_by_run(_third_party(tree.body, {"kombu"})) == set(), transport


def test_make_run_installs_the_runtime_requirements_only_and_make_test_the_dev_ones():
    run = make_dry_run("run")
    assert "pip install --quiet -r requirements.txt" in run
    assert "requirements-dev.txt" not in run
    for target in ("test", "lint", "chaos"):
        assert "pip install --quiet -r requirements-dev.txt" in make_dry_run(target), target
