"""Shared fixtures: paths, and a dbt runner for the integration test project."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import ORCHESTRATOR_ENV_PREFIXES

REPO_ROOT = Path(__file__).resolve().parents[1]
INTEGRATION_DIR = REPO_ROOT / "integration_tests"



def _venv_bin() -> Path:
    here = Path(sys.executable).parent
    return here if (here / "dbt").exists() else REPO_ROOT / ".venv" / "bin"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def integration_dir() -> Path:
    return INTEGRATION_DIR


@pytest.fixture(scope="session")
def venv_bin() -> Path:
    """Directory of the virtualenv's executables (python, dbt, ruff, ...)."""
    return _venv_bin()


@dataclass
class DbtRunner:
    """Runs dbt in integration_tests/ with its own target/log dirs (partial parsing is reused
    between calls of one session, and nothing collides with a developer's target/)."""

    dbt: Path
    cwd: Path
    target_path: Path
    log_path: Path
    duckdb_path: Path

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(ORCHESTRATOR_ENV_PREFIXES)}
        env.update({
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_PROFILES_DIR": str(self.cwd),
            "DBT_TARGET_PATH": str(self.target_path),
            "DBT_LOG_PATH": str(self.log_path),
            "DBT_DUCKDB_PATH": str(self.duckdb_path),
        })
        env.update(extra or {})
        return env

    def __call__(
        self, *args: str, env: Mapping[str, str] | None = None, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.dbt), *args], cwd=self.cwd, env=self.env(env), capture_output=True, text=True,
            timeout=timeout, check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"dbt {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result


@pytest.fixture(scope="session")
def dbt(venv_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> DbtRunner:
    """`dbt(*args, env={...})` in integration_tests/; DuckDB file in a temp dir unless env overrides
    DBT_DUCKDB_PATH."""
    base = tmp_path_factory.mktemp("dbt")
    return DbtRunner(
        dbt=venv_bin / "dbt",
        cwd=INTEGRATION_DIR,
        target_path=base / "target",
        log_path=base / "logs",
        duckdb_path=base / "dbt.duckdb",
    )


def run_python_module(venv_bin: Path, module: str, args: Sequence[str], cwd: Path | None = None) -> str:
    """`python -m module args` with scripts/ importable; returns stdout (raises on failure)."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "scripts"))
    result = subprocess.run(
        [str(venv_bin / "python"), "-m", module, *args], cwd=cwd or REPO_ROOT, env=env,
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"python -m {module} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout
