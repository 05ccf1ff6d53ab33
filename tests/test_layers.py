"""The layers stay as drawn: import-linter holds the contracts in pyproject.toml (composition,
edges, services, engine, settings, domain; no import circle; only the composition imports live
video and the pages; the clients need none of the server) and mypy finds no type error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    binary = Path(sys.executable).parent / tool
    return subprocess.run([str(binary), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_the_import_contracts_hold():
    result = _run("lint-imports", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_no_type_error():
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
