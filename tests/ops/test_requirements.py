"""`make run` installs requirements.txt only (the test tools come with `make test`), so
every library the running service imports must come from requirements.txt, directly or
as a dependency of a package pinned there."""

import ast
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


def imported_top_level_modules() -> dict[str, str]:
    """Third-party module → one file of the running service that imports it."""
    found = {}
    for path in RUNTIME_CODE:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in FIRST_PARTY and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_library_the_service_imports_is_a_runtime_requirement():
    installed_by_run = with_dependencies(pinned(ROOT / "requirements.txt"))
    providers = metadata.packages_distributions()
    missing = {
        module: where
        for module, where in imported_top_level_modules().items()
        if not {canonical(d) for d in providers.get(module, [])} & installed_by_run
    }
    assert missing == {}, "imported by the service but installed only by requirements-dev.txt (or not at all)"
    assert {"aiosmtpd", "drf-spectacular-sidecar", "whitenoise"} <= pinned(ROOT / "requirements.txt")
    assert not {"pytest", "playwright", "ruff"} & pinned(ROOT / "requirements.txt")


def make_dry_run(target: str) -> str:
    """What `make <target>` would run from a clean clone (-B: no stamp is up to date)."""
    result = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout


def test_make_run_installs_the_runtime_requirements_only_and_make_test_the_dev_ones():
    run = make_dry_run("run")
    assert "pip install --quiet -r requirements.txt" in run
    assert "requirements-dev.txt" not in run
    for target in ("test", "lint", "chaos"):
        assert "pip install --quiet -r requirements-dev.txt" in make_dry_run(target), target
