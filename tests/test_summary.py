"""`python -m pipeline_costs summary` (the end of `make demo`) reads the marts it quotes correctly."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from support import MARTS_SCHEMA, integration_build, rows, subprocess_env


def _summary(db: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "pipeline_costs", "summary", "--duckdb", str(db)],
                            env=subprocess_env(), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _cents(amount: object, currency: str) -> str:
    return f"{currency} {Decimal(str(amount)):,.2f}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    db = integration_build(tmp_path_factory, "full_refresh")
    return db, _summary(db)


def test_forecast_line_quotes_the_total_series(built: tuple[Path, str]) -> None:
    db, text = built
    total = rows(db, f"select * from {MARTS_SCHEMA}.cost_forecast_summary where series_type = 'total'")[0]
    assert total["status"] == "forecast", total
    line = next(line for line in text.splitlines() if line.startswith("Forecast (total spend"))
    for column in ("month_to_date_cost", "projected_month_end_cost", "projected_month_end_lower_cost",
                   "projected_month_end_upper_cost"):
        assert _cents(total[column], total["currency"]) in line, (column, line)


def test_anomaly_lines_are_the_latest_explained_pipeline_runs(built: tuple[Path, str]) -> None:
    db, text = built
    latest = rows(db, f"""
        select pipeline_id, pipeline_run_id, explanation from {MARTS_SCHEMA}.cost_anomalies
        where is_anomaly and entity_type = 'pipeline_run' order by run_started_at desc limit 5""")
    assert latest, "the integration data has no anomalous pipeline run: the test would prove nothing"
    for run in latest:
        assert f"  {run['pipeline_id']} run {run['pipeline_run_id']}: {run['explanation']}" in text


def test_recommendations_are_the_three_largest_savings(built: tuple[Path, str]) -> None:
    db, text = built
    best = rows(db, f"""
        select kind, subject, estimated_monthly_saving, currency from {MARTS_SCHEMA}.cost_recommendations
        order by estimated_monthly_saving desc, recommendation_id limit 3""")
    block = text[text.index("Top 3 recommendations"):].splitlines()[1:4]
    assert len(best) == 3 and len(block) == 3
    for line, finding in zip(block, best, strict=True):
        assert _cents(finding["estimated_monthly_saving"], finding["currency"]) in line
        assert f"{finding['kind']} {finding['subject']}:" in line
