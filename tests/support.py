"""Helpers shared by the test modules: run dbt and the generator in subprocesses, read DuckDB, and the
integration build both integration test modules check."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

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


# ---------------------------------------------------------------------------------------------
# The integration build: generated BigQuery and Databricks logs over DAYS days, the package built
# on them with a full refresh at T1, then incrementally at T2 (new days, late rows, finished
# statements). Built once per test session, whichever integration module asks first.
# ---------------------------------------------------------------------------------------------

DAYS = 21
SEED = 7
END = dt.datetime.now(dt.UTC).date()
T1 = dt.datetime.combine(END - dt.timedelta(days=3), dt.time(9, 30), tzinfo=dt.UTC)
T2 = dt.datetime.combine(END, dt.time(0, 0), tzinfo=dt.UTC)
STAGES = ("full_refresh", "incremental")
_BUILT: dict[str, Path] = {}


def as_of_vars(as_of: dt.datetime) -> list[str]:
    """The SAO marts measure at the same moment the generator's truth does."""
    return ["--vars", json.dumps({"dbt_pipeline_costs_as_of": as_of.isoformat()})]


def _generate_at(db: Path, as_of: dt.datetime) -> None:
    generate(db, "--days", str(DAYS), "--end-date", END.isoformat(), "--seed", str(SEED), "--as-of", as_of.isoformat())


def integration_build(tmp_path_factory: pytest.TempPathFactory, stage: str) -> Path:
    """The warehouse after `stage` (and every stage before it) of the integration build."""
    if stage in _BUILT:
        return _BUILT[stage]
    if stage == "full_refresh":
        db = tmp_path_factory.mktemp("integration") / "warehouse.duckdb"
        _generate_at(db, T1)
        run_dbt(["build", "--full-refresh", *as_of_vars(T1)], db)
        results = json.loads((PROJECT_DIR / "target" / "run_results.json").read_text())["results"]
        unit_tests = [r["status"] for r in results if r["unique_id"].startswith("unit_test.dbt_pipeline_costs.")]
        assert unit_tests and set(unit_tests) == {"pass"}, f"the package's dbt unit tests did not all run and pass: {unit_tests}"
    else:
        db = integration_build(tmp_path_factory, STAGES[STAGES.index(stage) - 1])
        before = rows(db, f"select count(*) as n from {MARTS_SCHEMA}.query_costs")[0]["n"]
        _generate_at(db, T2)
        run_dbt(["build", *as_of_vars(T2)], db)
        after = rows(db, f"select count(*) as n from {MARTS_SCHEMA}.query_costs")[0]["n"]
        assert after > before, "the incremental run added no queries: the test would prove nothing"
    _BUILT[stage] = db
    return db
