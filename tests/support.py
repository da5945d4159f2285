"""Helpers shared by the test modules: run dbt and the generator in subprocesses, read DuckDB."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parent.parent
PROJECT_DIR = REPO / "integration_tests"
BIN = Path(sys.executable).parent
MARTS_SCHEMA = "main_pipeline_costs"


# Variables an orchestrator (or the CI running these tests) may set: removed from every subprocess
# so a test sees only the pipeline context it passes explicitly.
ORCHESTRATOR_ENV_PREFIXES = ("AIRFLOW_CTX_", "DBT_CLOUD_", "GITHUB_", "DBT_PIPELINE_")


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ORCHESTRATOR_ENV_PREFIXES)}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    env["PYTHONPATH"] = str(REPO / "scripts")
    env.update(extra)
    return env


def run_dbt(args: list[str], duckdb_path: Path, timeout: int = 600, check: bool = True,
            **env: str) -> subprocess.CompletedProcess[str]:
    """Run dbt in the integration project against one DuckDB file; fail the test with its log."""
    result = subprocess.run(
        [str(BIN / "dbt"), *args, "--profiles-dir", str(PROJECT_DIR)],
        cwd=PROJECT_DIR, env=subprocess_env(DBT_DUCKDB_PATH=str(duckdb_path), **env),
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
    return result


def generate(duckdb_path: Path, *args: str) -> str:
    """Run the synthetic generator CLI."""
    result = subprocess.run(
        [sys.executable, "-m", "pipeline_costs", "generate", "--duckdb", str(duckdb_path), *args],
        env=subprocess_env(), capture_output=True, text=True, timeout=600, check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"generator failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def rows(duckdb_path: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(duckdb_path)) as con:
        relation = con.sql(sql)
        names = relation.columns
        return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def as_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
