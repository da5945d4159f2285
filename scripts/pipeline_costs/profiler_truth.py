"""Ground truth of model_performance, cost_recommendations and cost_estimates (docs/cost-rules.md
sections 14 and 15), from the generator's own bookkeeping: the jobs as written (bytes processed,
referenced and destination tables, principal), the Databricks statements and cost lines, the TABLE_STORAGE
snapshot, the uploaded run results, and the truth tables of model_costs, query_costs, sao_opportunities,
job_overlap and the storage marts. The SQL is never read.

Sums of money are exact (Decimal); a division of money (per build, per million rows, the monthly
projection, a share) is computed exactly (Fraction) and rounded once to 18 decimals, so the marts
(whose divisions go through 8-byte floats on DuckDB) are compared with a tolerance, as in section 9.
Percentiles are numpy's linear interpolation; floats are compared relatively.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from math import floor

import pandas as pd
import pyarrow as pa

from pipeline_costs import pricing
from pipeline_costs import project as p
from pipeline_costs.databricks_truth import DatabricksTruth
from pipeline_costs.ground_truth import MONEY, Prices, Uploaded, _us
from pipeline_costs.reuse_truth import DAY_US, SAO_HIGH_SAVINGS, SAO_MEDIUM_SAVINGS, SAO_WINDOW_DAYS, _results
from pipeline_costs.table_storage import PROJECT, StorageSnapshot

# Defaults of the package's vars (dbt_project.yml, section "profiler, recommendations, estimates").
PROFILE_WINDOW_DAYS = 30
SLOW_MODEL_SECONDS = 600
FAILING_ERROR_RATE_PCT = 20
FULL_SCAN_RATIO = 0.8
INCREMENTAL_MIN_BUILDS_PER_DAY = 1
INCREMENTAL_READ_SHARE_PCT = 10
PARTITION_FILTER_READ_SHARE_PCT = 10
CAPACITY_OVERHEAD_FACTOR = Fraction(3, 2)  # 1.5
CAPACITY_OVERHEAD_TEXT = "1.5"  # as Jinja renders the var
MIN_MONTHLY_SAVING = 1
DAYS_PER_MONTH = 30
# The integration project's models are views in dbt's graph (its dbt_project.yml: +materialized: view).
GRAPH_MATERIALIZED = "view"
BUILT = ("success", "error", "partial success")
GIB = 1024**3
TIB = 1024**4
SCALE = 10**pricing.SCALE
KINDS = ("make_incremental", "add_partition_filter", "enable_reuse", "fix_failing_model", "duplicate_work",
         "switch_pricing_model", "switch_storage_billing")

TableKey = tuple[str, str, str]  # project, dataset, table


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


@dataclass
class JobFacts:
    """What JOBS says of one BigQuery job beyond its price (first row of a job listed twice)."""

    user_email: str | None
    created_us: int
    cache_hit: bool
    bytes_processed: int | None
    destination: TableKey | None
    referenced: frozenset[TableKey]


def _job_facts(raw: pa.Table) -> dict[tuple[str, str, str], JobFacts]:
    facts: dict[tuple[str, str, str], JobFacts] = {}
    columns = [raw[c].to_pylist() for c in ("project_id", "_location", "job_id", "user_email", "creation_time",
                                             "cache_hit", "total_bytes_processed", "destination_table",
                                             "referenced_tables")]
    for project, location, job_id, user, created, cache, processed, destination, referenced in zip(*columns,
                                                                                                    strict=True):
        key = (project, location, job_id)
        if key in facts:
            continue
        facts[key] = JobFacts(
            user_email=user, created_us=_us(created), cache_hit=bool(cache), bytes_processed=processed,
            destination=None if destination is None or destination["table_id"] is None else (
                destination["project_id"], destination["dataset_id"], destination["table_id"]),
            referenced=frozenset((r["project_id"], r["dataset_id"], r["table_id"]) for r in referenced or ()),
        )
    return facts


def _money(value: Fraction | Decimal | int | None) -> Decimal | None:
    if value is None:
        return None
    return pricing.to_decimal(Fraction(value))


def _monthly(value: Fraction | Decimal, days: int = PROFILE_WINDOW_DAYS) -> Fraction:
    return Fraction(value) * DAYS_PER_MONTH / days


def _ratio(numerator: float | Fraction | None, denominator: float | Fraction | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return float(numerator) / float(denominator)


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """Continuous percentile, linear between the nearest ranks (numpy's default, SQL's percentile_cont)."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _fixed(value: float | Fraction | Decimal, decimals: int) -> str:
    """format_fixed(): printf('%.<n>f') of the value as an 8-byte float."""
    return f"{float(value):.{decimals}f}"


def _priority(saving: Fraction) -> str:
    return "High" if saving >= SAO_HIGH_SAVINGS else "Medium" if saving >= SAO_MEDIUM_SAVINGS else "Low"


def _scaled(value: Fraction) -> int:
    """A price as an integer of 10^-18 units, cut below (as the package's _scaled_integer / scaled_price)."""
    return floor(value * SCALE)


# ---------------------------------------------------------------------------------------------
# model_performance
# ---------------------------------------------------------------------------------------------


@dataclass
class Build:
    """One row of model_costs in the window (a result or a costed invocation x node)."""

    node_id: str
    platform: str | None
    invocation_id: str
    pipeline_id: str | None
    status: str
    cost: Decimal
    rows_affected: int | None
    duration_s: float | None
    run_us: int
    materialized: str | None
    bytes_processed: int | None = None
    failed_queries: int = 0
    referenced_bytes: int | None = None

    @property
    def is_build(self) -> bool:
        return self.status in BUILT

    @property
    def is_success(self) -> bool:
        return self.status == "success"

    @property
    def is_retried(self) -> bool:
        return self.is_success and self.failed_queries > 0

    @property
    def scan_ratio(self) -> float | None:
        if not self.is_success or self.bytes_processed is None or not self.referenced_bytes:
            return None
        return self.bytes_processed / self.referenced_bytes


@dataclass
class Profile:
    node_id: str
    platform: str | None
    builds: list[Build] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for b in self.builds if b.status == status)


def _invocation_times(uploaded: Uploaded) -> dict[str, int]:
    return {r.invocation_id: r.time_us for r in _results(uploaded)}


def _query_stats(items: pd.DataFrame, facts: dict[tuple[str, str, str], JobFacts],
                 read_bytes: dict[str, int | None], live: dict[TableKey, int]) -> dict[tuple[str, str], dict]:
    """Per (invocation, node): its attributed queries' bytes processed, failed queries, referenced tables."""
    stats: dict[tuple[str, str], dict] = defaultdict(
        lambda: {"bytes": None, "failed": 0, "tables": set(), "writes": set()})
    queries = items[items["is_query"] & (items["attribution"] == "attributed")]
    for row in queries.itertuples(index=False):
        entry = stats[(row.invocation_id, row.node_id)]
        if row.platform == "bigquery":
            fact = facts[(row.project_id, row.location, row.job_id)]
            processed = fact.bytes_processed
            entry["tables"] |= fact.referenced
            if fact.destination is not None:
                entry["writes"].add(fact.destination)
        else:
            processed = read_bytes.get(row.job_id)
        if processed is not None:
            entry["bytes"] = (entry["bytes"] or 0) + int(processed)
        reason = row.error_reason
        if isinstance(reason, str) and reason not in ("stopped", "canceled"):
            entry["failed"] += 1
    for entry in stats.values():
        # what the build read less what it wrote; sized only when every such table has a live storage row
        reads = entry["tables"] - entry["writes"]
        entry["referenced"] = sum(live[t] for t in reads) if reads and all(t in live for t in reads) else None
    return stats


def model_profiles(models: pa.Table, uploaded: Uploaded, stats: dict[tuple[str, str], dict], as_of_us: int,
                   window_days: int = PROFILE_WINDOW_DAYS) -> list[Profile]:
    times = _invocation_times(uploaded)
    start_us = as_of_us - window_days * DAY_US
    profiles: dict[tuple[str, str | None], Profile] = {}
    for row in models.to_pylist():
        if row["resource_type"] != "model":
            continue
        key = (row["invocation_id"], row["node_id"])
        result = uploaded.results.get(key)
        run_us = times[row["invocation_id"]] if result is not None else _us(row["first_started_at"])
        if run_us is None or not start_us <= run_us < as_of_us:
            continue
        duration = row["dbt_execution_time_s"] if row["dbt_execution_time_s"] is not None else (
            float(row["execution_time_s"]) if row["execution_time_s"] is not None else None)
        stat = stats.get(key, {})
        build = Build(
            node_id=row["node_id"], platform=row["platform"], invocation_id=row["invocation_id"],
            pipeline_id=row["pipeline_id"], status=row["status"], cost=row["cost"],
            rows_affected=row["rows_affected"], duration_s=duration, run_us=run_us,
            materialized=result["materialized"] if result is not None else None,
            bytes_processed=stat.get("bytes"), failed_queries=stat.get("failed", 0),
            referenced_bytes=stat.get("referenced"),
        )
        profiles.setdefault((row["node_id"], row["platform"]), Profile(row["node_id"], row["platform"])).builds.append(
            build)
    return [profiles[k] for k in sorted(profiles, key=lambda k: (k[0], k[1] or ""))]


def model_performance_rows(profiles: list[Profile], currency: str,
                           window_days: int = PROFILE_WINDOW_DAYS) -> list[dict]:
    rows = []
    for profile in profiles:
        builds = [b for b in profile.builds if b.is_build]
        success = [b for b in builds if b.is_success]
        errors = [b for b in builds if b.status == "error"]
        durations = [b.duration_s for b in success if b.duration_s is not None]
        with_rows = [b for b in success if b.rows_affected is not None and b.duration_s is not None]
        with_bytes = [b for b in success if b.bytes_processed is not None and b.duration_s is not None]
        rows_sum = sum(b.rows_affected for b in with_rows) if with_rows else None  # type: ignore[misc]
        bytes_sum = sum(b.bytes_processed for b in with_bytes) if with_bytes else None  # type: ignore[misc]
        rows_seconds = sum(b.duration_s for b in with_rows)  # type: ignore[misc]
        bytes_seconds = sum(b.duration_s for b in with_bytes)  # type: ignore[misc]
        total = sum((b.cost for b in profile.builds), Decimal(0))
        failed_cost = sum((b.cost for b in errors), Decimal(0))
        costed = [b for b in success if b.rows_affected is not None]
        costed_rows = sum(b.rows_affected for b in costed)  # type: ignore[misc]
        rows_cost = sum((b.cost for b in costed), Decimal(0))
        ratios = [r for r in (b.scan_ratio for b in success) if r is not None]
        referenced = [float(b.referenced_bytes) for b in success if b.referenced_bytes]
        latest = max((b for b in profile.builds if b.materialized is not None),
                     key=lambda b: (b.run_us, b.invocation_id), default=None)
        graph = p.NODES_BY_ID.get(profile.node_id)
        in_graph = graph is not None and graph.resource_type == "model"
        materialized = latest.materialized if latest is not None else (GRAPH_MATERIALIZED if in_graph else None)
        p50 = percentile(durations, 0.5)
        scan_ratio = percentile(ratios, 0.5)
        build_count = len(builds)
        rows.append({
            "node_id": profile.node_id, "platform": profile.platform,
            "package_name": graph.package if in_graph else None,  # type: ignore[union-attr]
            "name": graph.name if in_graph else None,  # type: ignore[union-attr]
            "materialized": materialized,
            "pipeline_count": len({b.pipeline_id for b in builds if b.pipeline_id is not None}),
            "build_count": build_count, "success_count": len(success), "error_count": len(errors),
            "retried_count": sum(1 for b in builds if b.is_retried),
            "reused_count": profile.count("reused"), "skipped_count": profile.count("skipped"),
            "builds_per_day": build_count / window_days,
            "duration_p50_s": p50, "duration_p95_s": percentile(durations, 0.95),
            "rows_affected": rows_sum, "rows_per_s": _ratio(rows_sum, rows_seconds),
            "bytes_processed": bytes_sum, "bytes_per_s": _ratio(bytes_sum, bytes_seconds),
            "total_cost": total, "failed_build_cost": failed_cost,
            "cost_per_build": _money(Fraction(total) / build_count) if build_count else None,
            "cost_per_million_rows": _money(Fraction(rows_cost) * 1_000_000 / costed_rows) if costed_rows else None,
            "monthly_cost": _money(_monthly(total, window_days)), "currency": currency,
            "error_rate": _ratio(len(errors), build_count), "retry_rate": _ratio(
                sum(1 for b in builds if b.is_retried), build_count),
            "scanned_bytes_p50": percentile([float(b.bytes_processed) for b in success
                                             if b.bytes_processed is not None], 0.5),
            "referenced_bytes_p50": percentile(referenced, 0.5),
            "scan_ratio": scan_ratio,
            "is_slow": p50 is not None and p50 >= SLOW_MODEL_SECONDS,
            "is_failing": build_count > 0 and len(errors) * 100 >= FAILING_ERROR_RATE_PCT * build_count,
            "is_full_scan": scan_ratio is not None and scan_ratio >= FULL_SCAN_RATIO,
            "should_be_incremental": (materialized == "table" and len(success) > 0
                                      and len(success) >= INCREMENTAL_MIN_BUILDS_PER_DAY * window_days),
            # exact money for the recommendations
            "_total": Fraction(total), "_failed": Fraction(failed_cost),
        })
    return rows


# ---------------------------------------------------------------------------------------------
# cost_recommendations
# ---------------------------------------------------------------------------------------------


def _finding(kind: str, key: str, subject_type: str, subject: str, platform: str | None, evidence: str,
             monthly_cost: Fraction, saving: Fraction, current: str | None = None,
             recommended: str | None = None) -> dict:
    return {
        "recommendation_id": f"{kind}:{key}", "kind": kind, "subject_type": subject_type, "subject": subject,
        "platform": platform, "current_setting": current, "recommended_setting": recommended,
        "evidence": evidence, "monthly_cost": monthly_cost, "estimated_monthly_saving": saving,
    }


def _amount(value: Fraction | Decimal, currency: str) -> str:
    return f"{_fixed(value, 2)} {currency}"


def model_findings(performance: list[dict], currency: str, window_days: int = PROFILE_WINDOW_DAYS) -> list[dict]:
    found = []
    for m in performance:
        monthly = _monthly(m["_total"], window_days)
        key = f"{m['platform']}:{m['node_id']}"
        if m["should_be_incremental"] and not m["is_full_scan"]:
            found.append(_finding(
                "make_incremental", key, "model", m["node_id"], m["platform"],
                f"a table built {_fixed(m['builds_per_day'], 1)} times a day ({m['build_count']} builds in "
                f"{window_days} days) for {_amount(monthly, currency)} a month; an incremental build would cost "
                f"about {INCREMENTAL_READ_SHARE_PCT}% of a full one",
                monthly, monthly * (100 - INCREMENTAL_READ_SHARE_PCT) / 100, "table", "incremental"))
        if m["is_full_scan"] and m["scan_ratio"] * 100 > PARTITION_FILTER_READ_SHARE_PCT:
            share = PARTITION_FILTER_READ_SHARE_PCT / 100
            found.append(_finding(
                "add_partition_filter", key, "model", m["node_id"], m["platform"],
                f"a build reads a median {_fixed(m['scan_ratio'], 2)} of the logical bytes of the tables it "
                f"references (median {_fixed(m['scanned_bytes_p50'] / GIB, 2)} GiB read of "
                f"{_fixed(m['referenced_bytes_p50'] / GIB, 2)} GiB); {_amount(monthly, currency)} a month; "
                f"filtered on partitions or clusters it would read about {PARTITION_FILTER_READ_SHARE_PCT}% of them",
                monthly, monthly * Fraction(1 - share / m["scan_ratio"])))
        if m["is_failing"]:
            found.append(_finding(
                "fix_failing_model", key, "model", m["node_id"], m["platform"],
                f"failed {m['error_count']} of {m['build_count']} builds ({_fixed(100 * m['error_rate'], 1)}%) in "
                f"{window_days} days; the failed builds cost {_amount(m['_failed'], currency)}",
                monthly, _monthly(m["_failed"], window_days)))
    return found


def sao_findings(sao: pa.Table, overlap: pa.Table, currency: str) -> list[dict]:
    found = []
    for s in sao.to_pylist():
        rate = s["current_reuse_rate"] or 0.0
        found.append(_finding(
            "enable_reuse", s["pipeline_id"], "pipeline", s["pipeline_id"], None,
            f"reuses {_fixed(100 * rate, 1)}% of its model builds (goal {_fixed(s['reuse_goal_pct'], 0)}%) over "
            f"{s['run_count']} runs in {SAO_WINDOW_DAYS} days costing {_amount(s['total_cost'], currency)}; "
            "state-aware orchestration (build_after) reaching the goal skips that share of builds",
            _monthly(s["total_cost"], SAO_WINDOW_DAYS), Fraction(s["estimated_monthly_savings"])))
    for o in overlap.to_pylist():
        found.append(_finding(
            "duplicate_work", f"{o['target_name']}:{o['node_id']}", "model", o["node_id"], None,
            f"built {o['build_count']} times on target {o['target_name']} by {o['job_count']} jobs ({o['job_ids']}) "
            f"in {SAO_WINDOW_DAYS} days; {o['redundant_build_count']} builds "
            f"({_amount(o['redundant_cost'], currency)}) by jobs other than its main job {o['primary_pipeline_id']}",
            _monthly(o["total_cost"], SAO_WINDOW_DAYS), _monthly(o["redundant_cost"], SAO_WINDOW_DAYS)))
    return found


def pricing_findings(items: pd.DataFrame, facts: dict[tuple[str, str, str], JobFacts], query_cost: dict,
                     as_of_us: int, currency: str, window_days: int = PROFILE_WINDOW_DAYS) -> list[dict]:
    """switch_pricing_model per query pattern (a model's queries; a principal's non-dbt queries) x pricing model."""
    rate = pricing.CURRENCY_RATES[currency]
    on_demand = _scaled(pricing.ON_DEMAND_PRICE_PER_TIB) * _scaled(rate) // SCALE
    edition = pricing.DEFAULT_EDITION
    capacity = (_scaled(pricing.SLOT_HOUR_PRICES[edition]) * _scaled(rate) // SCALE
                * _scaled(CAPACITY_OVERHEAD_FACTOR) // SCALE)
    start_us = as_of_us - window_days * DAY_US
    patterns: dict[tuple[str, str, str], dict] = {}
    bigquery = items[(items["platform"] == "bigquery") & items["attribution"].isin(["attributed", "not_dbt"])]
    for row in bigquery.itertuples(index=False):
        key = (row.project_id, row.location, row.job_id)
        fact = facts[key]
        if not start_us <= fact.created_us < as_of_us:
            continue
        if row.attribution == "attributed":
            subject_type, subject = "model", row.node_id
        else:
            subject_type, subject = "user", fact.user_email or "(unknown user)"
        entry = patterns.setdefault((subject_type, subject, row.pricing_model),
                                    {"count": 0, "bytes": 0, "slots": 0, "cost": Decimal(0), "alt": 0})
        billed = 0 if pd.isna(row.bytes_billed) else int(row.bytes_billed)
        slots = 0 if pd.isna(row.slot_ms) else int(row.slot_ms)
        entry["count"] += 1
        entry["bytes"] += billed
        entry["slots"] += slots
        entry["cost"] += query_cost[key]
        reason = row.error_reason if isinstance(row.error_reason, str) else None
        if fact.cache_hit:
            continue
        if row.pricing_model == "capacity":
            if reason is None or reason == "stopped":
                entry["alt"] += billed * on_demand // TIB
        else:
            entry["alt"] += slots * capacity // pricing.MS_PER_HOUR
    found = []
    for (subject_type, subject, model), e in sorted(patterns.items()):
        current = _monthly(e["cost"], window_days)
        alternative = _monthly(Fraction(e["alt"], SCALE), window_days)
        other = "on_demand" if model == "capacity" else "capacity"
        tail = " on demand" if model == "capacity" else (
            f" on {edition} capacity (slot-hours x {CAPACITY_OVERHEAD_TEXT} for autoscaler minimums)")
        found.append(_finding(
            "switch_pricing_model", f"bigquery:{model}:{subject_type}:{subject}", subject_type, subject, "bigquery",
            f"{e['count']} queries in {window_days} days, {_fixed(e['bytes'] / TIB, 3)} TiB billed, "
            f"{_fixed(e['slots'] / pricing.MS_PER_HOUR, 1)} slot-hours: {_amount(current, currency)} a month on "
            f"{model}, about {_amount(alternative, currency)}{tail}",
            current, current - alternative, model, other))
    return found


def storage_findings(datasets: pa.Table | None, currency: str) -> list[dict]:
    found = []
    for d in datasets.to_pylist() if datasets is not None else []:
        if d["cheaper_billing_model"] == d["billing_model"]:
            continue
        subject = f"{d['project_id']}.{d['dataset_id']}"
        found.append(_finding(
            "switch_storage_billing", f"bigquery:{subject}", "dataset", subject, "bigquery",
            f"{d['table_count']} tables in {d['location']}: {_amount(d['monthly_logical_cost'], currency)} a month "
            f"billed on logical bytes, {_amount(d['monthly_physical_cost'], currency)} on physical bytes",
            Fraction(d["monthly_cost"]), Fraction(d["monthly_saving"]), d["billing_model"],
            d["cheaper_billing_model"]))
    return found


def recommendation_rows(findings: list[dict], currency: str) -> list[dict]:
    rows = []
    for f in findings:
        saving = f["estimated_monthly_saving"]
        if f["kind"] != "fix_failing_model" and not (saving > 0 and saving >= MIN_MONTHLY_SAVING):
            continue
        rows.append({**f, "monthly_cost": _money(f["monthly_cost"]), "estimated_monthly_saving": _money(saving),
                     "currency": currency, "priority": _priority(saving)})
    rows.sort(key=lambda r: r["recommendation_id"])
    return rows


# ---------------------------------------------------------------------------------------------
# cost_estimates
# ---------------------------------------------------------------------------------------------


def _idle_shares(truth: DatabricksTruth | None, start_us: int, as_of_us: int) -> dict[str, float]:
    """Each pipeline's share of the window's idle lines of the warehouses it ran statements on (floats)."""
    if truth is None:
        return {}
    idle: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    statements: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    use: dict[tuple[str, str | None, str], Decimal] = defaultdict(Decimal)
    for line in truth.lines:
        if line.line_type not in ("statement", "idle") or line.hour_ms is None:
            continue
        if not start_us <= line.hour_ms * 1000 < as_of_us:
            continue
        warehouse = (line.workspace_id, line.compute_id)
        cost = pricing.units_to_decimal(line.units)
        if line.line_type == "idle":
            idle[warehouse] += cost
            continue
        statements[warehouse] += cost
        if line.context is not None and line.context[2] is not None:
            use[(*warehouse, line.context[2])] += cost
    shares: dict[str, float] = defaultdict(float)
    for (workspace, compute, pipeline), cost in sorted(use.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2])):
        total = statements[(workspace, compute)]
        if total > 0:
            shares[pipeline] += float(idle[(workspace, compute)]) * float(cost) / float(total)
    return shares


def cost_estimate_rows(items: pd.DataFrame, prices: Prices, facts: dict[tuple[str, str, str], JobFacts],
                       truth: DatabricksTruth | None, storage_costs: pa.Table | None, as_of_us: int,
                       currency: str, window_days: int = PROFILE_WINDOW_DAYS) -> list[dict]:
    start_us = as_of_us - window_days * DAY_US
    dbt = items[items["is_dbt"]]
    starts = dbt[dbt["is_query"]].groupby(["pipeline_id", "pipeline_run_id"])["start_ms"].min()
    window = {key for key, ms in starts.items() if start_us <= int(ms) * 1000 < as_of_us}
    pipelines: dict[str, dict] = {}
    table_builds: dict[TableKey, dict[str, set[tuple[str, str]]]] = defaultdict(lambda: defaultdict(set))
    for row in dbt.itertuples(index=False):
        if (row.pipeline_id, row.pipeline_run_id) not in window:
            continue
        entry = pipelines.setdefault(row.pipeline_id, {"runs": set(), "platforms": set(), "compute": 0, "no_node": 0})
        entry["runs"].add(row.pipeline_run_id)
        entry["platforms"].add(row.platform)
        units = prices.units([getattr(row, name) for name in ("q_on_demand", "q_standard", "q_enterprise",
                                                               "q_enterprise_plus", "q_units")])
        entry["compute" if isinstance(row.node_id, str) else "no_node"] += units
        if row.platform == "bigquery" and row.attribution == "attributed":
            fact = facts[(row.project_id, row.location, row.job_id)]
            if fact.destination is not None:
                table_builds[fact.destination][row.pipeline_id].add((row.invocation_id, row.node_id))
    # storage: each table's monthly cost split by build counts; the most builds (then smallest id) takes the rest
    table_costs: dict[TableKey, Decimal] = defaultdict(Decimal)
    for t in storage_costs.to_pylist() if storage_costs is not None else []:
        table_costs[(t["project_id"], t["dataset_id"], t["table_id"])] += t["monthly_cost"]
    storage: dict[str, Fraction] = defaultdict(Fraction)
    tables: dict[str, int] = defaultdict(int)
    for key, by_pipeline in table_builds.items():
        if key not in table_costs:
            continue
        counts = {pipeline: len(builds) for pipeline, builds in by_pipeline.items()}
        total = sum(counts.values())
        anchor = min(counts, key=lambda pipeline: (-counts[pipeline], pipeline))
        others = Fraction(0)
        for pipeline, count in counts.items():
            tables[pipeline] += 1
            if pipeline != anchor:
                share = Fraction(table_costs[key]) * count / total
                storage[pipeline] += share
                others += share
        storage[anchor] += Fraction(table_costs[key]) - others
    idle = _idle_shares(truth, start_us, as_of_us)
    rows = []
    for pipeline in sorted(pipelines):
        e = pipelines[pipeline]
        compute = Fraction(e["compute"], SCALE)
        no_node = Fraction(e["no_node"], SCALE)
        monthly_compute, monthly_no_node = _monthly(compute, window_days), _monthly(no_node, window_days)
        monthly_idle = Fraction(idle.get(pipeline, 0.0)) * DAYS_PER_MONTH / window_days
        monthly_storage = storage.get(pipeline, Fraction(0))
        rows.append({
            "pipeline_id": pipeline,
            "platform": next(iter(e["platforms"])) if len(e["platforms"]) == 1 else "multiple",
            "run_count": len(e["runs"]), "runs_per_day": len(e["runs"]) / window_days,
            "window_cost": _money(compute + no_node),
            "monthly_query_compute_cost": _money(monthly_compute), "monthly_no_node_cost": _money(monthly_no_node),
            "monthly_idle_cost": _money(monthly_idle),
            "monthly_idle_overhead_cost": _money(monthly_no_node + monthly_idle),
            "storage_table_count": tables.get(pipeline, 0), "monthly_storage_cost": _money(monthly_storage),
            "monthly_total_cost": _money(monthly_compute + monthly_no_node + monthly_idle + monthly_storage),
            "currency": currency,
        })
    return rows


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------

PERFORMANCE_SCHEMA = pa.schema([
    ("node_id", pa.string()), ("platform", pa.string()), ("package_name", pa.string()), ("name", pa.string()),
    ("materialized", pa.string()), ("pipeline_count", pa.int64()), ("build_count", pa.int64()),
    ("success_count", pa.int64()), ("error_count", pa.int64()), ("retried_count", pa.int64()),
    ("reused_count", pa.int64()), ("skipped_count", pa.int64()), ("builds_per_day", pa.float64()),
    ("duration_p50_s", pa.float64()), ("duration_p95_s", pa.float64()), ("rows_affected", pa.int64()),
    ("rows_per_s", pa.float64()), ("bytes_processed", pa.int64()), ("bytes_per_s", pa.float64()),
    ("total_cost", MONEY), ("failed_build_cost", MONEY), ("cost_per_build", MONEY),
    ("cost_per_million_rows", MONEY), ("monthly_cost", MONEY), ("currency", pa.string()),
    ("error_rate", pa.float64()), ("retry_rate", pa.float64()), ("scanned_bytes_p50", pa.float64()),
    ("referenced_bytes_p50", pa.float64()), ("scan_ratio", pa.float64()), ("is_slow", pa.bool_()),
    ("is_failing", pa.bool_()), ("is_full_scan", pa.bool_()), ("should_be_incremental", pa.bool_()),
])
RECOMMENDATIONS_SCHEMA = pa.schema([
    ("recommendation_id", pa.string()), ("kind", pa.string()), ("subject_type", pa.string()),
    ("subject", pa.string()), ("platform", pa.string()), ("current_setting", pa.string()),
    ("recommended_setting", pa.string()), ("evidence", pa.string()), ("monthly_cost", MONEY),
    ("estimated_monthly_saving", MONEY), ("currency", pa.string()), ("priority", pa.string()),
])
ESTIMATES_SCHEMA = pa.schema([
    ("pipeline_id", pa.string()), ("platform", pa.string()), ("run_count", pa.int64()),
    ("runs_per_day", pa.float64()), ("window_cost", MONEY), ("monthly_query_compute_cost", MONEY),
    ("monthly_no_node_cost", MONEY), ("monthly_idle_cost", MONEY), ("monthly_idle_overhead_cost", MONEY),
    ("storage_table_count", pa.int64()), ("monthly_storage_cost", MONEY), ("monthly_total_cost", MONEY),
    ("currency", pa.string()),
])


def _table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist([{name: row[name] for name in schema.names} for row in rows], schema=schema)


def compute(raw: pa.Table, items: pd.DataFrame, uploaded: Uploaded, truth: DatabricksTruth | None,
            storage: StorageSnapshot | None, tables: dict[str, pa.Table], prices: Prices, currency: str,
            as_of: datetime | None) -> dict[str, pa.Table]:
    if as_of is None:
        return {}
    as_of_us = _us(as_of)
    assert as_of_us is not None
    facts = _job_facts(raw)
    unlabelled = items[(items["platform"] == "bigquery") & (items["attribution"] == "attributed")
                       & ~items["attribution_source"].isin(["comment", "label", "script_parent", "adapter_response"])]
    assert unlabelled.empty, "an attributed BigQuery job the package would not see as a dbt job"
    read_bytes = {s.statement.statement_id: s.statement.read_bytes for s in truth.statements} if truth else {}
    live: dict[TableKey, int] = defaultdict(int)
    for t in storage.tables if storage is not None else []:
        if not t.deleted:
            live[(PROJECT, t.dataset, t.table)] += t.logical
    stats = _query_stats(items, facts, read_bytes, live)
    performance = model_performance_rows(model_profiles(tables["model_costs"], uploaded, stats, as_of_us), currency)
    query_costs = tables["query_costs"]
    query_cost = {
        (project, location, job_id): cost for platform, project, location, job_id, cost in zip(
            *(query_costs[c].to_pylist() for c in ("platform", "project_id", "location", "job_id", "cost")),
            strict=True) if platform == "bigquery"
    }
    findings = model_findings(performance, currency)
    findings += sao_findings(tables["sao_opportunities"], tables["job_overlap"], currency)
    if storage is not None:
        findings += pricing_findings(items, facts, query_cost, as_of_us, currency)
        findings += storage_findings(tables.get("storage_dataset_costs"), currency)
    estimates = cost_estimate_rows(items, prices, facts, truth, tables.get("storage_costs"), as_of_us, currency)
    return {
        "model_performance": _table(performance, PERFORMANCE_SCHEMA),
        "cost_recommendations": _table(recommendation_rows(findings, currency), RECOMMENDATIONS_SCHEMA),
        "cost_estimates": _table(estimates, ESTIMATES_SCHEMA),
    }
