"""Ground truth of the reuse, freshness and state-aware orchestration marts (docs/cost-rules.md
section 9), from the uploaded run results and the exact costs of ground_truth.model_costs.

Counts and ratios are exact (Fraction); money is the exact sum of integer quantities, priced once
and rounded half up to 18 decimal places; a division of money (an average, a median, the savings
estimate) is computed exactly and rounded once the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

import pandas as pd
import pyarrow as pa

from pipeline_costs import pricing
from pipeline_costs.ground_truth import (
    MONEY,
    QUANTITIES,
    ROLLING_RUNS,
    TS_US,
    Prices,
    Quantities,
    Uploaded,
    _dec,
    _us,
)
from pipeline_costs.project import PERIOD_SECONDS

# Defaults of the package's vars (dbt_project.yml), as ROLLING_RUNS & co. in ground_truth.
SAO_WINDOW_DAYS = 30
REUSE_GOAL_PCT = 30
FRESHNESS_GOAL_PCT = 80
SAO_HIGH_SAVINGS = 100
SAO_MEDIUM_SAVINGS = 10
DAYS_PER_MONTH = 30
UNKNOWN_TARGET = "(unknown target)"
DAY_US = 86_400_000_000

STATUS_CLASSES = {
    "success": "built", "error": "built", "partial success": "built",
    "reused": "reused", "skipped": "skipped", "no-op": "no_op",
}
STATUS_COUNTS = {  # model_reuse column -> status
    "success_count": "success", "error_count": "error", "partial_success_count": "partial success",
    "skipped_count": "skipped", "no_op_count": "no-op", "reused_count": "reused",
}
ZERO: Quantities = (0,) * len(QUANTITIES)


@dataclass
class Result:
    """A node result with its invocation's context (section 9, common ground)."""

    invocation_id: str
    node_id: str
    resource_type: str
    package_name: str | None
    name: str | None
    status: str
    status_class: str
    execute_completed_us: int | None
    execution_time_s: float | None
    build_after_count: int | None
    build_after_period: str | None
    has_freshness_config: bool
    has_state_config: bool
    pipeline_id: str
    pipeline_run_id: str
    target_name: str | None
    job_type: str | None
    command: str | None
    elapsed_s: float | None
    time_us: int  # the invocation's time

    @property
    def target_key(self) -> str:
        return self.target_name if self.target_name is not None else UNKNOWN_TARGET


def _results(uploaded: Uploaded) -> list[Result]:
    by_invocation: dict[str, list[dict]] = defaultdict(list)
    for row in uploaded.results.values():
        by_invocation[row["invocation_id"]].append(row)
    out: list[Result] = []
    for invocation_id, rows in by_invocation.items():
        inv = uploaded.invocations.get(invocation_id)
        pipeline_id, pipeline_run_id, _ = uploaded.invocation_context(invocation_id)
        time_us = _us(inv["run_started_at"]) if inv is not None else None
        for column in ("execute_started_at", "compile_started_at"):
            if time_us is None:
                times = [_us(r[column]) for r in rows if r[column] is not None]
                time_us = min(times) if times else None  # type: ignore[type-var]
        assert time_us is not None, f"invocation {invocation_id} has no time"
        for r in rows:
            out.append(Result(
                invocation_id=invocation_id, node_id=r["node_id"], resource_type=r["resource_type"],
                package_name=r["package_name"], name=r["name"], status=r["status"],
                status_class=STATUS_CLASSES.get(r["status"], "other"),
                execute_completed_us=_us(r["execute_completed_at"]), execution_time_s=r["execution_time_s"],
                build_after_count=r["build_after_count"], build_after_period=r["build_after_period"],
                has_freshness_config=bool(r["has_freshness_config"]), has_state_config=r["state_config"] is not None,
                pipeline_id=pipeline_id, pipeline_run_id=pipeline_run_id,
                target_name=inv["target_name"] if inv else None, job_type=inv["job_type"] if inv else None,
                command=inv["command"] if inv else None, elapsed_s=inv["elapsed_s"] if inv else None,
                time_us=time_us,
            ))
    return out


def _ratio(numerator: int, denominator: int) -> Fraction | None:
    return Fraction(numerator, denominator) if denominator else None


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _add(a: Quantities, b: Quantities) -> Quantities:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _sum(items: Iterable[Quantities]) -> Quantities:
    total = ZERO
    for q in items:
        total = _add(total, q)
    return total


def _money(value: Fraction | None) -> object:
    return None if value is None else pricing.to_decimal(value)


def _median(values: list[Fraction]) -> Fraction | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# ---------------------------------------------------------------------------------------------
# The marts
# ---------------------------------------------------------------------------------------------


def model_reuse(results: list[Result]) -> pa.Table:
    runs: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        if r.resource_type == "model":
            runs[r.invocation_id].append(r)
    rows = []
    for invocation_id, models in runs.items():
        first = models[0]
        counts = {column: sum(1 for m in models if m.status == status) for column, status in STATUS_COUNTS.items()}
        built = sum(1 for m in models if m.status_class == "built")
        rows.append({
            "invocation_id": invocation_id, "pipeline_id": first.pipeline_id, "pipeline_run_id": first.pipeline_run_id,
            "command": first.command, "job_type": first.job_type, "target_name": first.target_name,
            "run_started_at": first.time_us, "model_count": len(models), **counts, "built_count": built,
        })
    rows.sort(key=lambda r: (r["pipeline_id"], r["run_started_at"], r["invocation_id"]))
    history: dict[str, list[tuple[int, int]]] = defaultdict(list)  # job -> [(reused, reused + built)]
    previous_rolling: dict[str, Fraction | None] = {}
    for row in rows:
        job = row["pipeline_id"]
        reused, base = row["reused_count"], row["reused_count"] + row["built_count"]
        past = history[job]
        rate = _ratio(reused, base)
        window = past[-(ROLLING_RUNS - 1):] + [(reused, base)] if ROLLING_RUNS > 1 else [(reused, base)]
        rolling = _ratio(sum(w[0] for w in window), sum(w[1] for w in window))
        before = previous_rolling.get(job)
        row["reuse_rate"] = _float(rate)
        row["reuse_goal_pct"] = float(REUSE_GOAL_PCT)
        row["meets_reuse_goal"] = base > 0 and reused * 100 >= REUSE_GOAL_PCT * base
        row["previous_reuse_rate"] = _float(_ratio(*past[-1])) if past else None
        row["rolling_reuse_rate"] = _float(rolling)
        row["reuse_trend"] = (None if not past or rolling is None or before is None
                              else "up" if rolling > before else "down" if rolling < before else "flat")
        past.append((reused, base))
        previous_rolling[job] = rolling
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("invocation_id", pa.string()), ("pipeline_id", pa.string()), ("pipeline_run_id", pa.string()),
        ("command", pa.string()), ("job_type", pa.string()), ("target_name", pa.string()),
        ("run_started_at", TS_US), ("model_count", pa.int64()),
        *((column, pa.int64()) for column in STATUS_COUNTS), ("built_count", pa.int64()),
        ("reuse_rate", pa.float64()), ("reuse_goal_pct", pa.float64()), ("meets_reuse_goal", pa.bool_()),
        ("previous_reuse_rate", pa.float64()), ("rolling_reuse_rate", pa.float64()), ("reuse_trend", pa.string()),
    ]))


def freshness_coverage(results: list[Result]) -> pa.Table:
    sao_runs = {r.invocation_id for r in results if r.status == "reused"}
    groups: dict[tuple[str, str | None, str], list[Result]] = defaultdict(list)
    for r in results:
        if r.resource_type in ("model", "source"):
            groups[(r.invocation_id, r.package_name, r.resource_type)].append(r)
    rows = []
    for (invocation_id, package, resource_type), members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        count = len(members)
        configured = sum(1 for m in members if m.has_freshness_config)
        is_sao = invocation_id in sao_runs
        rows.append({
            "invocation_id": invocation_id, "package_name": package, "resource_type": resource_type,
            "pipeline_id": members[0].pipeline_id, "target_name": members[0].target_name,
            "run_started_at": members[0].time_us, "node_count": count, "freshness_config_count": configured,
            "build_after_count": sum(1 for m in members if m.build_after_count is not None),
            "state_config_count": sum(1 for m in members if m.has_state_config),
            "coverage_pct": float(Fraction(100 * configured, count)), "coverage_goal_pct": float(FRESHNESS_GOAL_PCT),
            "meets_coverage_goal": configured * 100 >= FRESHNESS_GOAL_PCT * count, "is_sao_run": is_sao,
            "config_gap": ("sao_without_freshness" if is_sao and configured == 0
                           else "freshness_without_sao" if not is_sao and configured > 0 else "none"),
        })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("invocation_id", pa.string()), ("package_name", pa.string()), ("resource_type", pa.string()),
        ("pipeline_id", pa.string()), ("target_name", pa.string()), ("run_started_at", TS_US),
        ("node_count", pa.int64()), ("freshness_config_count", pa.int64()), ("build_after_count", pa.int64()),
        ("state_config_count", pa.int64()), ("coverage_pct", pa.float64()), ("coverage_goal_pct", pa.float64()),
        ("meets_coverage_goal", pa.bool_()), ("is_sao_run", pa.bool_()), ("config_gap", pa.string()),
    ]))


def slo_compliance(results: list[Result], as_of_us: int) -> pa.Table:
    models: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        if r.resource_type == "model":
            models[r.node_id].append(r)
    rows = []
    for node_id in sorted(models):
        members = models[node_id]
        latest = max(members, key=lambda r: (r.time_us, r.execute_completed_us is not None,
                                             r.execute_completed_us or 0, r.invocation_id))
        successes = [r.execute_completed_us for r in members if r.status == "success" and r.execute_completed_us]
        last_success = max(successes) if successes else None
        seconds = PERIOD_SECONDS.get((latest.build_after_period or "").lower())
        build_after_s = latest.build_after_count * seconds if latest.build_after_count is not None and seconds else None
        age_s = (as_of_us - last_success) // 1_000_000 if last_success is not None else None
        rows.append({
            "node_id": node_id, "package_name": latest.package_name, "name": latest.name,
            "last_pipeline_id": latest.pipeline_id, "last_result_at": latest.time_us, "last_status": latest.status,
            "build_after_count": latest.build_after_count, "build_after_period": latest.build_after_period,
            "build_after_s": build_after_s, "last_success_at": last_success, "as_of": as_of_us, "age_s": age_s,
            "slo_status": ("no_slo" if build_after_s is None else "never_built" if age_s is None
                           else "met" if age_s <= build_after_s else "breached"),
        })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("node_id", pa.string()), ("package_name", pa.string()), ("name", pa.string()),
        ("last_pipeline_id", pa.string()), ("last_result_at", TS_US), ("last_status", pa.string()),
        ("build_after_count", pa.int64()), ("build_after_period", pa.string()), ("build_after_s", pa.int64()),
        ("last_success_at", TS_US), ("as_of", TS_US), ("age_s", pa.int64()), ("slo_status", pa.string()),
    ]))


def sao_opportunities(window: list[Result], invocation_costs: dict[str, Quantities], prices: Prices,
                      currency: str) -> pa.Table:
    runs: dict[str, dict[str, list[Result]]] = defaultdict(dict)  # job -> invocation -> its model results
    for r in window:
        if r.resource_type == "model":
            runs[r.pipeline_id].setdefault(r.invocation_id, []).append(r)
    rows = []
    for job in sorted(runs):
        invocations = runs[job]
        run_count = len(invocations)
        elapsed = [Fraction(m[0].elapsed_s) for m in invocations.values() if m[0].elapsed_s is not None]
        avg_duration = sum(elapsed, Fraction(0)) / len(elapsed) if elapsed else None
        total = prices.fraction(_sum(invocation_costs.get(i, ZERO) for i in invocations))
        total_units = prices.units(_sum(invocation_costs.get(i, ZERO) for i in invocations))
        reused = sum(1 for m in invocations.values() for r in m if r.status_class == "reused")
        built = sum(1 for m in invocations.values() for r in m if r.status_class == "built")
        d = reused + built
        per_day = Fraction(run_count, SAO_WINDOW_DAYS)
        avg_cost = total / run_count
        savings = Fraction(0)
        if d > 0 and reused * 100 < REUSE_GOAL_PCT * d:
            savings = (total * DAYS_PER_MONTH * (REUSE_GOAL_PCT * d - 100 * reused)
                       / (SAO_WINDOW_DAYS * 100 * (d - reused)))
        rows.append({
            "pipeline_id": job, "run_count": run_count, "runs_per_day": float(per_day),
            "avg_duration_s": _float(avg_duration), "total_cost": _dec(total_units),
            "avg_run_cost": _money(avg_cost), "currency": currency, "reused_count": reused, "built_count": built,
            "current_reuse_rate": _float(_ratio(reused, d)), "reuse_goal_pct": float(REUSE_GOAL_PCT),
            "impact_score": None if avg_duration is None else float(per_day * avg_duration * avg_cost),
            "estimated_monthly_savings": _money(savings),
            "priority": ("High" if savings >= SAO_HIGH_SAVINGS else "Medium" if savings >= SAO_MEDIUM_SAVINGS
                         else "Low"),
        })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("pipeline_id", pa.string()), ("run_count", pa.int64()), ("runs_per_day", pa.float64()),
        ("avg_duration_s", pa.float64()), ("total_cost", MONEY), ("avg_run_cost", MONEY), ("currency", pa.string()),
        ("reused_count", pa.int64()), ("built_count", pa.int64()), ("current_reuse_rate", pa.float64()),
        ("reuse_goal_pct", pa.float64()), ("impact_score", pa.float64()), ("estimated_monthly_savings", MONEY),
        ("priority", pa.string()),
    ]))


def job_overlap(window: list[Result], build_costs: dict[tuple[str, str], Quantities], prices: Prices,
                currency: str) -> pa.Table:
    builds: dict[tuple[str, str], dict[str, list[Quantities]]] = defaultdict(lambda: defaultdict(list))
    for r in window:
        if r.resource_type == "model" and r.status_class == "built" and r.job_type != "ci":
            builds[(r.target_key, r.node_id)][r.pipeline_id].append(build_costs.get((r.invocation_id, r.node_id), ZERO))
    rows = []
    for (target, node_id), jobs in sorted(builds.items()):
        if len(jobs) < 2:
            continue
        primary = min(jobs, key=lambda job: (-len(jobs[job]), job))
        others = [q for job, costs in jobs.items() if job != primary for q in costs]
        rows.append({
            "target_name": target, "node_id": node_id, "job_count": len(jobs),
            "build_count": sum(len(c) for c in jobs.values()), "job_ids": ", ".join(sorted(jobs)),
            "total_cost": _dec(prices.units(_sum(q for c in jobs.values() for q in c))), "currency": currency,
            "primary_pipeline_id": primary, "redundant_build_count": len(others),
            "redundant_cost": _dec(prices.units(_sum(others))),
        })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("target_name", pa.string()), ("node_id", pa.string()), ("job_count", pa.int64()),
        ("build_count", pa.int64()), ("job_ids", pa.string()), ("total_cost", MONEY), ("currency", pa.string()),
        ("primary_pipeline_id", pa.string()), ("redundant_build_count", pa.int64()), ("redundant_cost", MONEY),
    ]))


def reuse_savings(window: list[Result], build_costs: dict[tuple[str, str], Quantities], prices: Prices,
                  currency: str) -> pa.Table:
    costs: dict[tuple[str, str], list[Fraction]] = defaultdict(list)
    durations: dict[tuple[str, str], list[Fraction]] = defaultdict(list)
    for r in window:
        if r.resource_type == "model" and r.status_class == "built":
            key = (r.target_key, r.node_id)
            costs[key].append(prices.fraction(build_costs.get((r.invocation_id, r.node_id), ZERO)))
            if r.execution_time_s is not None:
                durations[key].append(Fraction(r.execution_time_s))
    medians = {key: (len(values), _money(_median(values)), _float(_median(durations.get(key, []))))
               for key, values in costs.items()}
    rows = []
    for r in sorted((r for r in window if r.resource_type == "model" and r.status_class == "reused"),
                    key=lambda r: (r.invocation_id, r.node_id)):
        sample_size, cost, seconds = medians.get((r.target_key, r.node_id), (0, None, None))
        rows.append({
            "invocation_id": r.invocation_id, "node_id": r.node_id, "pipeline_id": r.pipeline_id,
            "target_name": r.target_name, "run_started_at": r.time_us, "sample_size": sample_size,
            "estimated_cost_saved": cost, "currency": currency, "estimated_seconds_saved": seconds,
        })
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("invocation_id", pa.string()), ("node_id", pa.string()), ("pipeline_id", pa.string()),
        ("target_name", pa.string()), ("run_started_at", TS_US), ("sample_size", pa.int64()),
        ("estimated_cost_saved", MONEY), ("currency", pa.string()), ("estimated_seconds_saved", pa.float64()),
    ]))


def compute(jobs: pd.DataFrame, uploaded: Uploaded, build_costs: dict[tuple[str, str], Quantities],
            prices: Prices, currency: str, as_of: datetime) -> dict[str, pa.Table]:
    as_of_us = _us(as_of)
    assert as_of_us is not None
    results = _results(uploaded)
    window = [r for r in results if as_of_us - SAO_WINDOW_DAYS * DAY_US <= r.time_us < as_of_us]
    dbt = jobs[jobs["is_dbt"]]
    sums = dbt.groupby("invocation_id", sort=False)[list(QUANTITIES)].sum()
    invocation_costs = {inv: tuple(int(x) for x in q) for inv, q in zip(
        sums.index, sums.itertuples(index=False), strict=True)}
    return {
        "model_reuse": model_reuse(results),
        "freshness_coverage": freshness_coverage(results),
        "slo_compliance": slo_compliance(results, as_of_us),
        "sao_opportunities": sao_opportunities(window, invocation_costs, prices, currency),
        "job_overlap": job_overlap(window, build_costs, prices, currency),
        "reuse_savings": reuse_savings(window, build_costs, prices, currency),
    }

