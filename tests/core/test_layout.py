"""The house's layout, checked: one name per feature in every layer, modules and functions a
reader can hold in mind, and the edge alone committing.

The layering itself (the domain never imports the API or the pages; no feature but the
channels' views reaches the scan feature) is import-linter's contract in pyproject.toml,
run by ``make test`` as ``lint-imports``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = ("backend", "miniprogram_api", "portal")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

# Every feature, and whether it has a part in the mini-program's API and in the console.
# The word is the same in backend/, miniprogram_api/, portal/console/, the console's
# templates, tests/ and docs/.
FEATURES = {
    # feature: (API, console)
    "accounts": (True, True),
    "registry": (True, True),
    "ledgers": (True, False),
    "batches": (True, False),
    "codes": (True, False),
    "scan": (True, False),
    "samples": (True, True),
    "rules": (False, True),
    "inspections": (False, True),
    "plans": (False, True),
    "cameras": (False, True),
    "training": (False, True),
    "complaints": (True, True),
    "reminders": (False, False),
    "trace": (True, True),
    "dashboard": (False, True),
}
# What else may stand beside the features in each layer: shared pieces, not features.
SHARED = {
    "backend": {"audit", "core", "demo", "files", "integrations", "observability", "translations"},
    "miniprogram_api": {"auth", "idempotency", "uploads"},
    "portal/console": {"common", "forms"},
    "tests": {"browser", "core", "demo", "faults", "miniprogram", "portal", "security"}
    | {"services", "support"},
}


def python_files():
    """Every Python module of the application (not the tests)."""
    for top in CODE:
        yield from sorted((ROOT / top).rglob("*.py"))


def names_in(folder: Path) -> set[str]:
    """The modules and packages directly in *folder*, by name."""
    found = set()
    for path in folder.iterdir():
        if path.name.startswith(("_", ".")):
            continue
        if path.is_dir() and (path / "__init__.py").exists() or path.suffix == ".py":
            found.add(path.stem)
        elif path.is_dir() and folder.name in ("backend",):
            found.add(path.name)
    return found


@pytest.mark.parametrize("layer", ["backend", "tests"])
def test_every_feature_has_its_folder(layer):
    """backend/<feature>/ and tests/<feature>/ exist for every feature, and nothing else
    stands there but the shared pieces."""
    present = {p.name for p in (ROOT / layer).iterdir() if p.is_dir() and p.name[0] not in "._"}
    assert set(FEATURES) <= present
    assert present - set(FEATURES) <= SHARED[layer], present - set(FEATURES) - SHARED[layer]


def test_the_api_speaks_the_features_names():
    """miniprogram_api/<feature>.py for each feature with an API part, and no other module
    but the API's shared pieces."""
    present = names_in(ROOT / "miniprogram_api")
    wanted = {name for name, (api, _console) in FEATURES.items() if api}
    assert present == wanted | SHARED["miniprogram_api"]


def test_the_console_speaks_the_features_names():
    """portal/console/<feature> and portal/templates/console/<feature>/ for each feature with a
    console part; nothing else but the console's shared pieces."""
    present = names_in(ROOT / "portal" / "console")
    wanted = {name for name, (_api, console) in FEATURES.items() if console}
    assert present == wanted | SHARED["portal/console"]
    templates = ROOT / "portal" / "templates" / "console"
    folders = {p.name for p in templates.iterdir() if p.is_dir()}
    assert folders == wanted


def test_no_module_is_too_long_to_read():
    """No module of the application is over 600 lines (the demo's data files excepted)."""
    long = {
        str(path.relative_to(ROOT)): lines
        for path in python_files()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
        and "demo/data" not in path.as_posix()
    }
    assert long == {}


def test_no_function_is_too_long_to_read():
    """No function of the application is over 80 lines."""
    long = {}
    for path in python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = lines
    assert long == {}


def test_only_the_edge_commits():
    """Views and pages never commit: the edge (backend/core/transactions.py) does, once."""
    calls = re.compile(r"\.commit\(\)")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for top in ("miniprogram_api", "portal")
        for path in sorted((ROOT / top).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if calls.search(line)
    ]
    assert found == []
    edge = (ROOT / "backend" / "core" / "transactions.py").read_text(encoding="utf-8")
    assert "db.session.commit()" in edge
