"""Ground truth of cost_anomalies and cost_anomaly_drivers (docs/cost-rules.md section 13), from the
truth tables pipeline_cost_history, model_costs and query_costs.

Written from the rules, not from the SQL: each run is compared with the previous runs of its series
in plain Python (statistics.median over a list slice). Money stays Decimal: a median of an even
count is the exact mean of the two middle values, rounded half away from zero to 18 decimals (the
package's money scale); scores are floats computed from those decimals. An anomalous pipeline run's
drivers: every model built in it or in the runs of its window (the same list slice its median came
from), its cost per run summed over its builds (0 when not built), the run against the window's median.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext

import pyarrow as pa

from pipeline_costs.ground_truth import MONEY, TS_US

# Defaults of the package's vars (dbt_project.yml, section "anomalies").
WINDOW_RUNS = 14
MIN_HISTORY_RUNS = 5
SCORE_THRESHOLD = 3.5
MIN_COST_CHANGE = Decimal(1)
LEVEL_SHIFT_RUNS = 3
TOP_DRIVERS = 3

MAD_FACTOR = 1.4826  # 1.4826 x MAD estimates the standard deviation of normal data
MEAN_AD_FACTOR = 1.2533  # sqrt(pi / 2): the same for the mean absolute deviation
BUILT = {"success", "error", "partial success"}
MONEY_SCALE = Decimal("1e-18")
CENT = Decimal("0.01")


@dataclass
class Run:
    entity_type: str
    pipeline_id: str
    pipeline_run_id: str
    invocation_id: str | None
    node_id: str | None
    started_at: datetime
    cost: Decimal
    currency: str
    history_runs: int = 0
    median: Decimal | None = None
    mad: Decimal | None = None
    change: Decimal | None = None
    is_scored: bool = False
    basis: str | None = None
    score: float | None = None
    is_outlier: bool = False
    is_new_extreme: bool = False
    window_min: Decimal | None = None
    window_max: Decimal | None = None
    is_anomaly: bool = False
    kind: str | None = None
    explanation: str | None = None


def _money_median(values: list[Decimal]) -> Decimal:
    with localcontext() as exact:
        exact.prec = 80  # the mean of two middle values, exactly, before the one rounding
        return Decimal(statistics.median(values)).quantize(MONEY_SCALE, rounding=ROUND_HALF_UP)


def _text(amount: Decimal) -> str:
    return format(amount.quantize(CENT, rounding=ROUND_HALF_UP), "f")


def _signed(amount: Decimal) -> str:
    return ("-" if amount < 0 else "+") + _text(abs(amount))


def _score(run: Run, earlier: list[Decimal]) -> None:
    """Baseline of the previous runs (up to WINDOW_RUNS), score and flag."""
    run.history_runs = len(earlier)
    if not earlier:
        return
    run.median = _money_median(earlier)
    deviations = [abs(cost - run.median) for cost in earlier]
    run.mad = _money_median(deviations)
    run.change = run.cost - run.median
    run.is_scored = len(earlier) >= MIN_HISTORY_RUNS
    if not run.is_scored:
        return
    run.window_min, run.window_max = min(earlier), max(earlier)
    run.is_new_extreme = (run.cost - run.window_max >= MIN_COST_CHANGE
                          or run.window_min - run.cost >= MIN_COST_CHANGE)
    if run.mad > 0:
        run.basis = "mad"
        run.score = float(run.change) / (MAD_FACTOR * float(run.mad))
    elif sum(deviations) > 0:
        run.basis = "mean_absolute_deviation"
        run.score = float(run.change) / (MEAN_AD_FACTOR * float(sum(deviations)) / len(earlier))
    else:
        run.basis = "no_spread"  # every earlier run cost the same: any move past the floor counts
    run.is_outlier = (run.change != 0 and abs(run.change) >= MIN_COST_CHANGE
                      and (run.score is None or abs(run.score) >= SCORE_THRESHOLD))


def _label_streaks(series: list[Run]) -> None:
    """level_shift for every run of >= LEVEL_SHIFT_RUNS consecutive outliers one way; else an outlier is a
    spike / drop only when it is a new high / low of its window by the floor (a recurring outlier is not)."""
    streak: list[Run] = []

    def close() -> None:
        for member in streak:
            up = member.change > 0  # type: ignore[operator]
            if len(streak) >= LEVEL_SHIFT_RUNS:
                member.kind = "level_shift"
            elif member.is_new_extreme:
                member.kind = "spike" if up else "drop"
            member.is_anomaly = member.kind is not None
        streak.clear()

    for run in series:
        direction = (run.change > 0) if run.is_outlier else None  # type: ignore[operator]
        if streak and (direction is None or direction != (streak[-1].change > 0)):  # type: ignore[operator]
            close()
        if direction is not None:
            streak.append(run)
    close()


def _runs(pipeline_cost_history: pa.Table, model_costs: pa.Table, query_costs: pa.Table) -> list[Run]:
    missing = [q for q in query_costs.to_pylist() if q["has_missing_usage"] and q["is_dbt"]]
    incomplete_runs = {(q["pipeline_id"], q["pipeline_run_id"]) for q in missing}
    incomplete_builds = {(q["invocation_id"], q["node_id"]) for q in missing}
    runs = [
        Run("pipeline_run", r["pipeline_id"], r["pipeline_run_id"], None, None, r["run_started_at"],
            r["total_cost"], r["currency"])
        for r in pipeline_cost_history.to_pylist()
        if (r["pipeline_id"], r["pipeline_run_id"]) not in incomplete_runs
    ]
    for m in model_costs.to_pylist():
        started = m["first_started_at"] or m["execute_started_at"] or m["compile_started_at"]
        if (m["resource_type"] == "model" and m["status"] in BUILT and started is not None
                and (m["invocation_id"], m["node_id"]) not in incomplete_builds):
            runs.append(Run("model", m["pipeline_id"], m["pipeline_run_id"], m["invocation_id"], m["node_id"],
                            started, m["cost"], m["currency"]))
    return runs


@dataclass
class Driver:
    """A node behind an anomalous pipeline run: its cost in the run against its window median."""
    run: Run
    node_id: str
    cost: Decimal
    median: Decimal
    builds_in_run: int
    runs_built_in_window: int
    model_kind: str | None
    change: Decimal = Decimal(0)
    rank: int = 0


def _drivers(run: Run, window: list[Run], builds_by_run: dict[tuple[str, str], list[Run]]) -> list[Driver]:
    """Every node built in the run or in its window runs: its per-run cost (the sum of its builds, 0
    when not built) in the run against the median over the window runs, ranked by |change|."""
    def node_costs(pipeline_run: Run) -> dict[str, list[Run]]:
        by_node: dict[str, list[Run]] = defaultdict(list)
        for build in builds_by_run.get((pipeline_run.pipeline_id, pipeline_run.pipeline_run_id), []):
            by_node[build.node_id].append(build)  # type: ignore[index]
        return by_node

    current = node_costs(run)
    earlier = [node_costs(w) for w in window]
    drivers = []
    with localcontext() as exact:
        exact.prec = 80  # sums and differences of money stay exact
        for node in set(current).union(*earlier):
            builds = sorted(current.get(node, []), key=lambda b: (b.started_at, b.invocation_id or ""))
            anomalous = [b for b in builds if b.is_anomaly]
            driver = Driver(
                run, node, sum((b.cost for b in builds), Decimal(0)),
                _money_median([sum((b.cost for b in runs.get(node, [])), Decimal(0)) for runs in earlier]),
                len(builds), sum(1 for runs in earlier if node in runs), anomalous[0].kind if anomalous else None,
            )
            driver.change = driver.cost - driver.median
            drivers.append(driver)
    drivers.sort(key=lambda d: (-abs(d.change), d.node_id))
    for rank, driver in enumerate(drivers, start=1):
        driver.rank = rank
    return drivers


def _explain(run: Run, drivers: list[Driver]) -> str:
    unit = "runs" if run.entity_type == "pipeline_run" else "builds"
    text = (f"{run.kind.replace('_', ' ')} of {_signed(run.change)} {run.currency}: "  # type: ignore[union-attr, arg-type]
            f"{_text(run.cost)} vs a median of {_text(run.median)} over the previous {run.history_runs} {unit}")  # type: ignore[arg-type]
    parts = [f"{d.node_id} {_signed(d.change)} ({_text(d.cost)} vs {_text(d.median)})" for d in drivers[:TOP_DRIVERS] if d.change != 0]
    if parts:
        text += "; models that moved most: " + ", ".join(parts)
    return text


def compute(pipeline_cost_history: pa.Table, model_costs: pa.Table, query_costs: pa.Table) -> dict[str, pa.Table]:
    runs = _runs(pipeline_cost_history, model_costs, query_costs)
    series: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        series[(run.entity_type, run.pipeline_id, run.node_id)].append(run)
    for members in series.values():
        members.sort(key=lambda r: (r.started_at, r.pipeline_run_id, r.invocation_id or ""))
        for i, run in enumerate(members):
            _score(run, [r.cost for r in members[max(0, i - WINDOW_RUNS):i]])
        _label_streaks(members)

    builds_by_run: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        if run.entity_type == "model":
            builds_by_run[(run.pipeline_id, run.pipeline_run_id)].append(run)
    drivers: list[Driver] = []
    for (entity_type, _, _), members in series.items():
        for i, run in enumerate(members):
            if not run.is_anomaly:
                continue
            found: list[Driver] = []
            if entity_type == "pipeline_run":  # the window: the runs its baseline median was computed on
                found = _drivers(run, members[max(0, i - WINDOW_RUNS):i], builds_by_run)
                drivers.extend(found)
            run.explanation = _explain(run, found)

    anomalies = _table(runs)
    driver_table = pa.table({
        "pipeline_id": pa.array([d.run.pipeline_id for d in drivers], pa.string()),
        "pipeline_run_id": pa.array([d.run.pipeline_run_id for d in drivers], pa.string()),
        "run_started_at": pa.array([d.run.started_at for d in drivers], TS_US),
        "anomaly_kind": pa.array([d.run.kind for d in drivers], pa.string()),
        "run_cost_change": pa.array([d.run.change for d in drivers], MONEY),
        "window_runs": pa.array([d.run.history_runs for d in drivers], pa.int64()),
        "node_id": pa.array([d.node_id for d in drivers], pa.string()),
        "driver_rank": pa.array([d.rank for d in drivers], pa.int64()),
        "cost": pa.array([d.cost for d in drivers], MONEY),
        "currency": pa.array([d.run.currency for d in drivers], pa.string()),
        "baseline_median_cost": pa.array([d.median for d in drivers], MONEY),
        "cost_change": pa.array([d.change for d in drivers], MONEY),
        "builds_in_run": pa.array([d.builds_in_run for d in drivers], pa.int64()),
        "runs_built_in_window": pa.array([d.runs_built_in_window for d in drivers], pa.int64()),
        "is_model_anomaly": pa.array([d.model_kind is not None for d in drivers], pa.bool_()),
        "model_anomaly_kind": pa.array([d.model_kind for d in drivers], pa.string()),
    })
    return {"cost_anomalies": anomalies, "cost_anomaly_drivers": driver_table}


def _table(runs: list[Run]) -> pa.Table:
    def column(name: str, kind: pa.DataType) -> pa.Array:
        return pa.array([getattr(r, name) for r in runs], kind)

    return pa.table({
        "entity_type": column("entity_type", pa.string()),
        "pipeline_id": column("pipeline_id", pa.string()),
        "pipeline_run_id": column("pipeline_run_id", pa.string()),
        "invocation_id": column("invocation_id", pa.string()),
        "node_id": column("node_id", pa.string()),
        "run_started_at": column("started_at", TS_US),
        "cost": column("cost", MONEY),
        "currency": column("currency", pa.string()),
        "history_runs": column("history_runs", pa.int64()),
        "baseline_median_cost": column("median", MONEY),
        "baseline_mad_cost": column("mad", MONEY),
        "cost_change": column("change", MONEY),
        "is_scored": column("is_scored", pa.bool_()),
        "score_basis": column("basis", pa.string()),
        "robust_score": column("score", pa.float64()),
        "is_outlier": column("is_outlier", pa.bool_()),
        "is_new_extreme": column("is_new_extreme", pa.bool_()),
        "is_anomaly": column("is_anomaly", pa.bool_()),
        "anomaly_kind": column("kind", pa.string()),
        "explanation": column("explanation", pa.string()),
    })
