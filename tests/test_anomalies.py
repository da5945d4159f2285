"""cost_anomalies and cost_anomaly_drivers (docs/cost-rules.md section 13) on the shared integration
build, against the generator's ground truth (scripts/pipeline_costs/anomaly_truth.py recomputes every
score in Python from the truth tables) and against the scenarios the generator planted: a spike on one
daily_finance run and a level shift of fct_attribution in the hourly dbt Cloud job. The drivers of an
anomalous pipeline run are the models whose per-run cost moved most against their median over the
run's own baseline window, so they explain the run's change in its direction.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support import MARTS_SCHEMA, integration_build, rows

SCORE_RELATIVE_TOLERANCE = 1e-9
MONEY_TOLERANCE = Decimal("0.000001")
MIN_COST_CHANGE = Decimal(1)  # dbt_pipeline_costs_anomaly_min_cost_change
SCORE_THRESHOLD = 3.5  # dbt_pipeline_costs_anomaly_score_threshold
LEVEL_SHIFT_RUNS = 3  # dbt_pipeline_costs_anomaly_level_shift_runs
# The spike driver's change against the extra cost its planted factor implies (cost x (1 - 1 / factor)),
# and against the run's change: the other models and the daily_finance cost trend move them a little.
SPIKE_RELATIVE_TOLERANCE = Decimal("0.15")

KEYS = {
    "cost_anomalies": ["entity_type", "pipeline_id", "pipeline_run_id", "invocation_id", "node_id"],
    "cost_anomaly_drivers": ["pipeline_id", "pipeline_run_id", "node_id"],
}


def _same(got: Any, want: Any) -> bool:
    if got is None or want is None:
        return got is None and want is None
    if isinstance(want, float) or isinstance(got, float):
        return abs(float(got) - float(want)) <= SCORE_RELATIVE_TOLERANCE * max(1.0, abs(float(want)))
    if isinstance(want, Decimal) or isinstance(got, Decimal):
        return abs(Decimal(str(got)) - Decimal(str(want))) <= MONEY_TOLERANCE
    return got == want


def assert_equals_truth(db: Path, mart: str) -> None:
    keys = KEYS[mart]
    want_rows = rows(db, f"select * from ground_truth.{mart}")
    assert want_rows, f"ground_truth.{mart} is empty: nothing to compare"
    columns = list(want_rows[0])
    want = {tuple(r[k] for k in keys): r for r in want_rows}
    got = {tuple(r[k] for k in keys): r for r in rows(db, f"select {', '.join(columns)} from {MARTS_SCHEMA}.{mart}")}
    assert len(want) == len(want_rows), f"ground_truth.{mart}: keys not unique"
    missing, extra = sorted(set(want) - set(got), key=str)[:5], sorted(set(got) - set(want), key=str)[:5]
    assert not missing and not extra, f"{mart}: rows missing {missing} / unexpected {extra}"
    mismatches = [(key, c, got[key][c], want[key][c]) for key in want for c in columns
                  if not _same(got[key][c], want[key][c])]
    assert not mismatches, f"{mart}: {len(mismatches)} values differ, e.g. {mismatches[:5]}"


@pytest.fixture(scope="module")
def full_refresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return integration_build(tmp_path_factory, "full_refresh")


@pytest.fixture(scope="module")
def incremental(full_refresh: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return integration_build(tmp_path_factory, "incremental")


@pytest.mark.parametrize("mart", list(KEYS))
def test_full_refresh_equals_ground_truth(full_refresh: Path, mart: str) -> None:
    assert_equals_truth(full_refresh, mart)


@pytest.mark.parametrize("mart", list(KEYS))
def test_incremental_equals_ground_truth(incremental: Path, mart: str) -> None:
    assert_equals_truth(incremental, mart)


def _finding(db: Path, finding: str) -> dict[str, Any]:
    found = rows(db, f"select * from ground_truth.planted_findings where finding = '{finding}'")
    assert len(found) == 1, f"the generator planted no single {finding}: {found}"
    return found[0]


def _drivers_named(explanation: str) -> list[str]:
    _, _, named = explanation.partition("; models that moved most: ")
    return [part.split(" ")[0] for part in named.split(", ")] if named else []


def test_planted_spike_is_flagged_and_explained(incremental: Path) -> None:
    spike = _finding(incremental, "spike")
    run = rows(incremental, f"""
        select * from {MARTS_SCHEMA}.cost_anomalies
        where entity_type = 'pipeline_run' and pipeline_id = '{spike['pipeline_id']}'
            and pipeline_run_id = '{spike['pipeline_run_id']}'""")
    assert len(run) == 1 and run[0]["is_scored"], run
    assert run[0]["is_anomaly"] and run[0]["anomaly_kind"] == "spike", run[0]
    assert run[0]["explanation"].startswith("spike of +"), run[0]["explanation"]
    assert _drivers_named(run[0]["explanation"])[0] == spike["node_id"], run[0]["explanation"]
    top = rows(incremental, f"""
        select node_id, cost, cost_change, run_cost_change from {MARTS_SCHEMA}.cost_anomaly_drivers
        where pipeline_id = '{spike['pipeline_id']}' and pipeline_run_id = '{spike['pipeline_run_id']}'
        order by driver_rank""")
    assert top[0]["node_id"] == spike["node_id"] and top[0]["cost_change"] >= MIN_COST_CHANGE, top
    # its change is about its whole extra cost, and about the run's change
    extra = top[0]["cost"] * (1 - 1 / Decimal(str(spike["factor"])))
    assert abs(top[0]["cost_change"] - extra) <= SPIKE_RELATIVE_TOLERANCE * extra, (top[0], extra)
    assert abs(top[0]["cost_change"] - top[0]["run_cost_change"]) <= SPIKE_RELATIVE_TOLERANCE * top[0]["run_cost_change"]
    model = rows(incremental, f"""
        select is_anomaly, anomaly_kind from {MARTS_SCHEMA}.cost_anomalies
        where entity_type = 'model' and pipeline_run_id = '{spike['pipeline_run_id']}'
            and node_id = '{spike['node_id']}'""")
    assert model == [{"is_anomaly": True, "anomaly_kind": "spike"}]
    # isolated: the same pipeline's runs before and after it are not anomalies
    neighbours = rows(incremental, f"""
        select is_anomaly from {MARTS_SCHEMA}.cost_anomalies
        where entity_type = 'pipeline_run' and pipeline_id = '{spike['pipeline_id']}'
            and abs(date_diff('hour', run_started_at, timestamptz '{run[0]['run_started_at'].isoformat()}')) between 1 and 48""")
    assert neighbours and not any(r["is_anomaly"] for r in neighbours)


def test_planted_level_shift_is_flagged_from_its_first_run(incremental: Path) -> None:
    shift = _finding(incremental, "level_shift")
    series = rows(incremental, f"""
        select pipeline_run_id, is_anomaly, anomaly_kind, cost_change, explanation
        from {MARTS_SCHEMA}.cost_anomalies
        where entity_type = 'model' and pipeline_id = '{shift['pipeline_id']}' and node_id = '{shift['node_id']}'
        order by run_started_at, pipeline_run_id, invocation_id""")
    first = next(i for i, r in enumerate(series) if r["pipeline_run_id"] == shift["pipeline_run_id"])
    shifted = series[first:first + LEVEL_SHIFT_RUNS]
    assert all(r["anomaly_kind"] == "level_shift" and r["cost_change"] > 0 for r in shifted), shifted
    assert shifted[0]["explanation"].startswith("level shift of +"), shifted[0]
    assert not any(r["is_anomaly"] for r in series[max(0, first - 5):first]), "anomalies just before the shift"
    # once the new level fills the baseline (window: 14 runs), the shift is over
    assert not all(r["is_anomaly"] for r in series[first:first + 14])
    run = rows(incremental, f"""
        select anomaly_kind, explanation from {MARTS_SCHEMA}.cost_anomalies
        where entity_type = 'pipeline_run' and pipeline_id = '{shift['pipeline_id']}'
            and pipeline_run_id = '{shift['pipeline_run_id']}'""")
    assert run[0]["anomaly_kind"] == "level_shift", run
    assert _drivers_named(run[0]["explanation"])[0] == shift["node_id"], run[0]["explanation"]


def test_cost_floor_suppresses_small_moves(incremental: Path) -> None:
    counts = rows(incremental, f"""
        select
            count(*) filter (
                where is_scored and abs(robust_score) >= {SCORE_THRESHOLD} and abs(cost_change) < {MIN_COST_CHANGE}
            ) as above_threshold_below_floor,
            count(*) filter (
                where is_scored and abs(robust_score) >= {SCORE_THRESHOLD} and abs(cost_change) < {MIN_COST_CHANGE}
                    and is_anomaly
            ) as flagged_below_floor,
            count(*) filter (where is_anomaly and abs(cost_change) < {MIN_COST_CHANGE}) as anomalies_below_floor,
            count(*) filter (where is_anomaly) as anomalies
        from {MARTS_SCHEMA}.cost_anomalies""")[0]
    assert counts["above_threshold_below_floor"] > 0, "the data has no sub-floor outliers: the test proves nothing"
    assert counts["flagged_below_floor"] == 0 and counts["anomalies_below_floor"] == 0, counts
    assert counts["anomalies"] > 0


def test_every_score_basis_and_kind_occurs(incremental: Path) -> None:
    """The integration data exercises the MAD = 0 fallbacks (the dbt unit test checks them by hand)."""
    found = rows(incremental, f"""
        select score_basis, anomaly_kind, count(*) as n from {MARTS_SCHEMA}.cost_anomalies
        where is_scored group by all""")
    assert {r["score_basis"] for r in found} == {"mad", "mean_absolute_deviation", "no_spread"}, found
    assert {r["anomaly_kind"] for r in found} >= {"spike", "level_shift"}, found
    unscored = rows(incremental, f"""
        select count(*) as n from {MARTS_SCHEMA}.cost_anomalies
        where not is_scored and (robust_score is not null or is_anomaly or score_basis is not null)""")[0]["n"]
    assert unscored == 0


def test_first_driver_moves_with_the_run(incremental: Path) -> None:
    """The model that moved most in an anomalous pipeline run moved the same way as the run: a run whose
    change comes from which models ran (a CI job building a subset) is explained by those models."""
    firsts = rows(incremental, f"""
        select pipeline_id, pipeline_run_id, run_cost_change, node_id, cost_change
        from {MARTS_SCHEMA}.cost_anomaly_drivers where driver_rank = 1""")
    runs = rows(incremental, f"""
        select count(*) as n from {MARTS_SCHEMA}.cost_anomalies where entity_type = 'pipeline_run' and is_anomaly""")
    assert firsts and len(firsts) == runs[0]["n"], "an anomalous pipeline run has no drivers"
    against = [r for r in firsts if (r["cost_change"] > 0) != (r["run_cost_change"] > 0) or r["cost_change"] == 0]
    assert not against, f"{len(against)} runs' first driver moved against the run, e.g. {against[:3]}"


def test_each_model_is_one_driver_per_run(incremental: Path) -> None:
    """A model built several times in one pipeline run (several invocations) is one driver: its builds' sum."""
    twice = rows(incremental, f"""
        select count(*) as n from (
            select pipeline_id, pipeline_run_id, node_id from {MARTS_SCHEMA}.cost_anomaly_drivers
            group by all having count(*) > 1)""")[0]["n"]
    assert twice == 0
    sums = rows(incremental, f"""
        select drivers.cost, drivers.builds_in_run, sum(builds.cost) as build_cost, count(builds.node_id) as builds
        from {MARTS_SCHEMA}.cost_anomaly_drivers as drivers
        left join {MARTS_SCHEMA}.cost_anomalies as builds
            on builds.entity_type = 'model' and builds.pipeline_id = drivers.pipeline_id
            and builds.pipeline_run_id = drivers.pipeline_run_id and builds.node_id = drivers.node_id
        group by drivers.pipeline_id, drivers.pipeline_run_id, drivers.node_id, drivers.cost, drivers.builds_in_run""")
    # (a model absent from the run but built in its window: the dbt unit test of cost_anomaly_drivers)
    assert any(r["builds_in_run"] > 1 for r in sums), "no model built twice in an anomalous run: the test proves little"
    wrong = [r for r in sums if r["builds"] != r["builds_in_run"] or abs(r["cost"] - (r["build_cost"] or 0)) > MONEY_TOLERANCE]
    assert not wrong, wrong[:5]
    explanations = rows(incremental, f"""
        select explanation from {MARTS_SCHEMA}.cost_anomalies where entity_type = 'pipeline_run' and is_anomaly""")
    repeated = [e for e in explanations if len(set(_drivers_named(e["explanation"]))) != len(_drivers_named(e["explanation"]))]
    assert not repeated, repeated[:3]
