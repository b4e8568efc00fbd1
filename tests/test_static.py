"""The package is type-checked (mypy --strict) and linted (ruff, with ASYNC rules)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_mypy_strict_is_clean() -> None:
    """mypy --strict (configured in pyproject.toml) reports no error in src/."""
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert 0 == result.returncode, result.stdout + result.stderr


def test_ruff_is_clean() -> None:
    """ruff (with the ASYNC rules) reports nothing in src/, tests/, examples/, benchmarks/."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "examples",
                             "benchmarks"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert 0 == result.returncode, result.stdout + result.stderr
