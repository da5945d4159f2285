"""The package's analyses (analyses/*.sql), compiled by dbt as a user would (`dbt compile --select
... --vars ...`) and run on the integration build's DuckDB file, against the generator's ground truth
(schema ground_truth and the raw JOBS / billing usage rows it wrote).

Three compiles run in parallel, each with its own target path: one with explicit vars (the planted
spike run of daily_finance against the run before it, a model by name, label keys), one with the
defaults (every pipeline's latest run against the one before; the day grain), and one with vars that
must be refused with a clear message.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import BIN, PROJECT_DIR, REPO, as_decimal, integration_build, rows, subprocess_env

ANALYSES = ("run_vs_run_comparison", "top_queries_for_run", "model_cost_history", "cost_by_label")
TIGHT = Decimal("0.000001")
# Databricks money is shared out in floats rounded to 12 decimals (as in the integration tests).
ALLOCATED = Decimal("0.005")
NOT_BUILDS = {"reused", "skipped", "no-op"}
ROLLING_RUNS = int(yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]["dbt_pipeline_costs_rolling_runs"])
EXPLICIT_TOP_N = 5
DEFAULT_TOP_N = 10
EXPLICIT_LABEL_KEYS = ["team", "pipeline_id", "node_id"]
COMPILE_TIMEOUT_S = 300


@dataclass
class Compiled:
    db: Path
    explicit: Path
    defaults: Path
    refused: subprocess.CompletedProcess[str]
    spike: dict[str, Any]
    previous_run_id: str
    history_node_id: str

    def sql(self, which: Path, analysis: str) -> str:
        return (which / "target" / "compiled" / "dbt_pipeline_costs" / "analyses" / f"{analysis}.sql").read_text()

    def run(self, which: Path, analysis: str) -> list[dict[str, Any]]:
        return rows(self.db, self.sql(which, analysis))

    def columns(self, which: Path, analysis: str) -> list[str]:
        import duckdb

        with duckdb.connect(str(self.db)) as con:
            return list(con.sql(self.sql(which, analysis)).columns)


def _compile(out: Path, db: Path, select: tuple[str, ...], dbt_vars: dict[str, Any]) -> subprocess.Popen[str]:
    """dbt compile of the analyses in the integration project. The DuckDB path only names the
    catalog (its file name, as the build's): nothing is read at compile time."""
    out.mkdir(parents=True)
    return subprocess.Popen(
        [str(BIN / "dbt"), "compile", "--no-populate-cache", "--select", *select,
         "--vars", json.dumps(dbt_vars), "--profiles-dir", str(PROJECT_DIR)],
        cwd=PROJECT_DIR, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env=subprocess_env(DBT_DUCKDB_PATH=str(out / db.name), DBT_TARGET_PATH=str(out / "target"),
                           DBT_LOG_PATH=str(out / "logs")),
    )  # fmt: skip


def _truth_runs(db: Path) -> dict[str, list[dict[str, Any]]]:
    """pipeline -> its runs in the truth, oldest first (the marts' order: start, then run id)."""
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in rows(db, """select pipeline_id, pipeline_run_id, platform, run_started_at, total_cost, query_count
                           from ground_truth.pipeline_cost_history order by run_started_at, pipeline_run_id"""):
        runs[run["pipeline_id"]].append(run)
    return runs


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    db = integration_build(tmp_path_factory, "full_refresh")
    spikes = rows(db, "select pipeline_id, pipeline_run_id, node_id from ground_truth.planted_findings where finding = 'spike'")
    assert spikes and spikes[0]["pipeline_run_id"], "the generator planted no spike run: nothing to compare"
    spike = spikes[0]
    run_ids = [r["pipeline_run_id"] for r in _truth_runs(db)[spike["pipeline_id"]]]
    assert spike["pipeline_run_id"] in run_ids[1:], "the spike run has no run before it in the truth"
    previous_run_id = run_ids[run_ids.index(spike["pipeline_run_id"]) - 1]
    level_shift = rows(db, "select node_id from ground_truth.planted_findings where finding = 'level_shift'")
    root = tmp_path_factory.mktemp("analyses")
    procs = {
        "explicit": _compile(root / "explicit", db, ANALYSES, {
            "dbt_pipeline_costs_analysis_pipeline_id": spike["pipeline_id"],
            "dbt_pipeline_costs_run_a": previous_run_id,
            "dbt_pipeline_costs_run_b": spike["pipeline_run_id"],
            "dbt_pipeline_costs_analysis_run_id": spike["pipeline_run_id"],
            "dbt_pipeline_costs_top_n": EXPLICIT_TOP_N,
            "dbt_pipeline_costs_analysis_model": spike["node_id"].rsplit(".", 1)[1],  # by name
            "dbt_pipeline_costs_label_days": 60,
            "dbt_pipeline_costs_label_keys": EXPLICIT_LABEL_KEYS,
        }),
        "defaults": _compile(root / "defaults", db, ANALYSES, {
            "dbt_pipeline_costs_history_grain": "day",
            "dbt_pipeline_costs_analysis_model": level_shift[0]["node_id"],  # by node id
        }),
        # dbt stops at the first compile error: one refusal per compile (the required var)
        "refused": _compile(root / "refused", db, ("run_vs_run_comparison",), {
            "dbt_pipeline_costs_run_a": previous_run_id,
            "dbt_pipeline_costs_run_b": spike["pipeline_run_id"],
        }),
    }
    done = {name: subprocess.CompletedProcess(proc.args, 0, "") for name, proc in procs.items()}
    for name, proc in procs.items():
        try:
            output, _ = proc.communicate(timeout=COMPILE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, output)
    for name in ("explicit", "defaults"):
        assert done[name].returncode == 0, f"dbt compile ({name}) failed:\n{done[name].stdout[-6000:]}"
    return Compiled(db, root / "explicit", root / "defaults", done["refused"], spike, previous_run_id,
                    level_shift[0]["node_id"])


def _close(got: Any, want: Any, tolerance: Decimal = TIGHT) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return abs(as_decimal(got) - as_decimal(want)) <= tolerance  # type: ignore[operator]


def _sum(values: list[Any]) -> Any:
    present = [as_decimal(v) for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


# ---------------------------------------------------------------------------------------------
# run_vs_run_comparison
# ---------------------------------------------------------------------------------------------
def _run_nodes(db: Path, pipeline_id: str, run_id: str | None) -> dict[str, dict[str, Any]]:
    """node -> what the truth says the run spent on it; '(no node)' = its dbt cost naming no node
    (queries, and Databricks job compute not split over nodes)."""
    if run_id is None:
        return {}
    key = "pipeline_id = $p and pipeline_run_id = $r"
    with_params = {"p": pipeline_id, "r": run_id}
    results = _query(db, f"""select node_id, status, cost, query_count, bytes_billed, execute_completed_at,
                                    last_ended_at, invocation_id from ground_truth.model_costs where {key}""", with_params)
    nodes: dict[str, dict[str, Any]] = {}
    for node_id in {r["node_id"] for r in results}:
        mine = [r for r in results if r["node_id"] == node_id]
        # the latest result gives the status (NULL completion times last)
        latest = max(mine, key=lambda r: (
            (r["execute_completed_at"] or r["last_ended_at"]) is not None,
            r["execute_completed_at"] or r["last_ended_at"] or dt.datetime.min.replace(tzinfo=dt.UTC),
            r["invocation_id"]))
        nodes[node_id] = {"cost": _sum([r["cost"] for r in mine]), "query_count": sum(r["query_count"] for r in mine),
                          "bytes_billed": _sum([r["bytes_billed"] for r in mine]), "status": latest["status"]}
    queries = _query(db, f"""select count(*) as n, sum(cost) as cost from ground_truth.query_costs
                             where is_dbt and node_id is null and {key}""", with_params)[0]
    lines = _query(db, f"""select sum(cost) as cost from ground_truth.databricks_cost_lines
                           where line_type = 'job_run' and node_id is null and invocation_id is not null and {key}""",
                   with_params)[0]
    no_node_cost = (queries["cost"] or Decimal(0)) + (lines["cost"] or Decimal(0))
    if queries["n"] or no_node_cost:
        nodes["(no node)"] = {"cost": no_node_cost, "query_count": queries["n"], "status": None}
    return nodes


def _query(db: Path, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """rows() with the run's text passed as parameters (pipeline ids hold quotes, slashes, Cyrillic)."""
    import duckdb

    with duckdb.connect(str(db)) as con:
        relation = con.execute(sql, params)
        names = [d[0] for d in relation.description]
        return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def _check_comparison(db: Path, got: list[dict[str, Any]], pipeline: dict[str, Any], run_a: dict[str, Any] | None,
                      run_b: dict[str, Any]) -> None:
    tolerance = TIGHT if pipeline["platform"] == "bigquery" else ALLOCATED
    label = f"{run_b['pipeline_id']} {run_a and run_a['pipeline_run_id']} -> {run_b['pipeline_run_id']}"
    assert {(r["pipeline_run_id_a"], r["pipeline_run_id_b"]) for r in got} == {
        (run_a and run_a["pipeline_run_id"], run_b["pipeline_run_id"])}, label
    want_a = _run_nodes(db, run_b["pipeline_id"], run_a and run_a["pipeline_run_id"])
    want_b = _run_nodes(db, run_b["pipeline_id"], run_b["pipeline_run_id"])
    by_node = {r["node_id"]: r for r in got}
    assert len(by_node) == len(got), f"{label}: a node appears twice"
    assert set(by_node) == set(want_a) | set(want_b), f"{label}: nodes differ"
    for node_id, row in by_node.items():
        a, b = want_a.get(node_id), want_b.get(node_id)
        presence = "both" if a and b else ("only_a" if a else "only_b")
        assert row["presence"] == presence, (label, node_id, row["presence"], presence)
        for side, want in (("a", a), ("b", b)):
            assert _close(row[f"cost_{side}"], want["cost"] if want else 0, tolerance), (label, node_id, side, row)
            assert row[f"query_count_{side}"] == (want["query_count"] if want else 0), (label, node_id, side, row)
            assert row[f"status_{side}"] == (want["status"] if want else None), (label, node_id, side, row)
            if want and node_id != "(no node)":
                assert _close(row[f"bytes_billed_{side}"], want["bytes_billed"]), (label, node_id, side, row)
        assert _close(row["cost_change"], as_decimal(row["cost_b"]) - as_decimal(row["cost_a"]), Decimal(0))
    # no money dropped: each side adds up to the run's total in the truth
    for side, run in (("a", run_a), ("b", run_b)):
        total = run["total_cost"] if run else Decimal(0)
        assert _close(_sum([r[f"cost_{side}"] for r in got]), total, tolerance), (label, side)
        assert sum(r[f"query_count_{side}"] for r in got) == (run["query_count"] if run else 0), (label, side)
        assert all(_close(r[f"run_total_cost_{side}"], total, tolerance) for r in got), (label, side)


def test_run_vs_run_equals_truth_for_the_spike_run(compiled: Compiled) -> None:
    got = compiled.run(compiled.explicit, "run_vs_run_comparison")
    runs = {r["pipeline_run_id"]: r for r in _truth_runs(compiled.db)[compiled.spike["pipeline_id"]]}
    pipeline = runs[compiled.spike["pipeline_run_id"]]
    _check_comparison(compiled.db, got, pipeline, runs[compiled.previous_run_id], pipeline)
    # ordered by the size of the change: the planted spike's model first
    assert got[0]["node_id"] == compiled.spike["node_id"], [r["node_id"] for r in got[:3]]
    assert got[0]["cost_change"] > 0 and got[0]["cost_change_pct"] > 100


def test_run_vs_run_defaults_to_each_pipelines_latest_two_runs(compiled: Compiled) -> None:
    got = compiled.run(compiled.defaults, "run_vs_run_comparison")
    truth = _truth_runs(compiled.db)
    assert {r["pipeline_id"] for r in got} == set(truth)
    for pipeline_id, runs in truth.items():
        latest, before = runs[-1], (runs[-2] if len(runs) > 1 else None)
        _check_comparison(compiled.db, [r for r in got if r["pipeline_id"] == pipeline_id], latest, before, latest)


def test_run_ids_without_the_pipeline_are_refused_with_a_clear_message(compiled: Compiled) -> None:
    result = compiled.refused
    assert result.returncode != 0, result.stdout[-3000:]
    message = ("dbt_pipeline_costs: set --vars '{dbt_pipeline_costs_analysis_pipeline_id: ..., dbt_pipeline_costs_run_a: ..., "
               "dbt_pipeline_costs_run_b: ...}' to compare two runs")
    assert message in result.stdout, f"missing {message!r} in:\n{result.stdout[-3000:]}"
    assert "Traceback" not in result.stdout


# ---------------------------------------------------------------------------------------------
# top_queries_for_run
# ---------------------------------------------------------------------------------------------
def _check_top_queries(db: Path, got: list[dict[str, Any]], pipeline_id: str, run: dict[str, Any], top_n: int) -> None:
    tolerance = TIGHT if run["platform"] == "bigquery" else ALLOCATED
    truth = _query(db, """select project_id, location, job_id, node_id, bytes_billed, cost, currency, started_at, ended_at
                          from ground_truth.query_costs where is_dbt and pipeline_id = $p and pipeline_run_id = $r""",
                   {"p": pipeline_id, "r": run["pipeline_run_id"]})
    by_id = {(q["project_id"], q["location"], q["job_id"]): q for q in truth}
    label = f"{pipeline_id} {run['pipeline_run_id']}"
    assert len(got) == min(top_n, len(truth)), label
    assert [r["cost_rank"] for r in got] == list(range(1, len(got) + 1)), label
    costs = [as_decimal(r["cost"]) for r in got]
    assert costs == sorted(costs, reverse=True), label
    for row in got:
        want = by_id[(row["project_id"], row["location"], row["query_id"])]
        assert _close(row["cost"], want["cost"], tolerance), (label, row)
        assert (row["node_id"], row["bytes_billed"], row["currency"]) == (want["node_id"], want["bytes_billed"], want["currency"])
        assert row["duration_ms"] == (want["ended_at"] - want["started_at"]) // dt.timedelta(milliseconds=1), (label, row)
    # the N most expensive of the truth (compared by cost: equal costs may rank either way)
    expected = sorted((as_decimal(q["cost"]) for q in truth), reverse=True)[:top_n]
    assert all(_close(g, w, tolerance) for g, w in zip(costs, expected, strict=True)), (label, costs, expected)


def test_top_queries_of_the_spike_run_equal_truth(compiled: Compiled) -> None:
    got = compiled.run(compiled.explicit, "top_queries_for_run")
    run = next(r for r in _truth_runs(compiled.db)[compiled.spike["pipeline_id"]]
               if r["pipeline_run_id"] == compiled.spike["pipeline_run_id"])
    assert {r["pipeline_run_id"] for r in got} == {compiled.spike["pipeline_run_id"]}
    _check_top_queries(compiled.db, got, compiled.spike["pipeline_id"], run, EXPLICIT_TOP_N)
    assert got[0]["node_id"] == compiled.spike["node_id"]


def test_top_queries_default_to_each_pipelines_latest_run(compiled: Compiled) -> None:
    got = compiled.run(compiled.defaults, "top_queries_for_run")
    for pipeline_id, runs in _truth_runs(compiled.db).items():
        mine = [r for r in got if r["pipeline_id"] == pipeline_id]
        assert {r["pipeline_run_id"] for r in mine} <= {runs[-1]["pipeline_run_id"]}, pipeline_id
        _check_top_queries(compiled.db, mine, pipeline_id, runs[-1], DEFAULT_TOP_N)


# ---------------------------------------------------------------------------------------------
# model_cost_history
# ---------------------------------------------------------------------------------------------
def _truth_builds(db: Path, node_id: str) -> list[dict[str, Any]]:
    builds = [
        {**r, "built_at": r["first_started_at"] or r["execute_started_at"] or r["compile_started_at"]}
        for r in _query(db, "select * from ground_truth.model_costs where node_id = $n", {"n": node_id})
        if r["status"] not in NOT_BUILDS
    ]
    assert builds, f"the truth has no build of {node_id}"
    return sorted(builds, key=lambda b: (b["built_at"], b["invocation_id"]))


def _rolling(costs: list[Decimal]) -> list[Decimal]:
    return [sum(costs[max(0, i - ROLLING_RUNS + 1): i + 1], Decimal(0)) / len(costs[max(0, i - ROLLING_RUNS + 1): i + 1])
            for i in range(len(costs))]


def test_model_history_per_build_equals_truth(compiled: Compiled) -> None:
    got = compiled.run(compiled.explicit, "model_cost_history")
    want = _truth_builds(compiled.db, compiled.spike["node_id"])  # the analysis was given the model's name only
    assert {r["node_id"] for r in got} == {compiled.spike["node_id"]}
    assert [r["invocation_id"] for r in got] == [b["invocation_id"] for b in want]
    rolling = _rolling([as_decimal(b["cost"]) for b in want])
    previous = None
    for number, (row, build, average) in enumerate(zip(got, want, rolling, strict=True), start=1):
        tolerance = TIGHT if build["platform"] == "bigquery" else ALLOCATED
        assert row["build_number"] == number
        assert (row["pipeline_id"], row["pipeline_run_id"], row["status"], row["query_count"]) == (
            build["pipeline_id"], build["pipeline_run_id"], build["status"], build["query_count"])
        assert row["build_date"] == build["built_at"].astimezone(dt.UTC).date()
        assert _close(row["cost"], build["cost"], tolerance), (row, build)
        assert _close(row["rolling_avg_cost"], average, ALLOCATED), (row["rolling_avg_cost"], average)
        assert _close(row["previous_cost"], previous, tolerance)
        previous = build["cost"]
    # the planted spike is the most expensive build of its pipeline
    spike = max((r for r in got if r["pipeline_id"] == compiled.spike["pipeline_id"]), key=lambda r: as_decimal(r["cost"]))
    assert spike["pipeline_run_id"] == compiled.spike["pipeline_run_id"]


def test_model_history_per_day_equals_truth(compiled: Compiled) -> None:
    got = compiled.run(compiled.defaults, "model_cost_history")
    assert {r["node_id"] for r in got} == {compiled.history_node_id}
    days: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
    for build in _truth_builds(compiled.db, compiled.history_node_id):
        days[build["built_at"].astimezone(dt.UTC).date()].append(build)
    dates = sorted(days)
    assert [r["build_date"] for r in got] == dates
    costs = [_sum([b["cost"] for b in days[d]]) for d in dates]
    for row, day, cost, average in zip(got, dates, costs, _rolling(costs), strict=True):
        assert row["build_count"] == len(days[day])
        assert row["pipeline_count"] == len({b["pipeline_id"] for b in days[day]})
        assert _close(row["cost"], cost, ALLOCATED), (row, cost)
        assert _close(row["rolling_avg_cost"], average, ALLOCATED), (row, average)


# ---------------------------------------------------------------------------------------------
# cost_by_label
# ---------------------------------------------------------------------------------------------
def _bigquery_label_truth(db: Path) -> tuple[dict[tuple[str, str], tuple[Decimal, int]], Decimal, int]:
    """{(key, value): (cost, jobs)}, billed cost and jobs, from the raw JOBS rows the generator wrote
    and its priced jobs: a job's own labels, else (a script's child) its parent's."""
    own: dict[tuple[str, str, str], dict[str, str]] = {}
    for region in ("us", "eu"):
        for job in rows(db, f"""select project_id, job_id, labels from "region-{region}".jobs_by_project"""):
            labels = own.setdefault((job["project_id"], region, job["job_id"]), {})
            for label in job["labels"] or []:
                labels[label["key"]] = min(labels.get(label["key"], label["value"]), label["value"])
    totals: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    billed, jobs = Decimal(0), 0
    for q in rows(db, """select project_id, location, job_id, parent_job_id, cost
                         from ground_truth.query_costs where platform = 'bigquery'"""):
        labels = own.get((q["project_id"], q["location"], q["job_id"])) or \
            own.get((q["project_id"], q["location"], q["parent_job_id"])) or {}
        billed, jobs = billed + q["cost"], jobs + 1
        for key, value in labels.items():
            totals[(key, value)][0] += q["cost"]
            totals[(key, value)][1] += 1
    return {k: (v[0], v[1]) for k, v in totals.items()}, billed, jobs


def _databricks_tag_truth(db: Path) -> tuple[dict[tuple[str, str], tuple[Decimal, int]], Decimal, int]:
    """{(key, value): (cost, usage records)}, billed cost and records: the custom tags of the raw
    usage rows, the cost of each job run from the truth (only job runs carry custom tags here)."""
    runs = {(r["workspace_id"], r["job_run_id"]): r["billed_cost"]
            for r in rows(db, "select workspace_id, job_run_id, billed_cost from ground_truth.databricks_job_runs")}
    tags: dict[tuple[str, str], dict[str, str]] = {}
    records: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record in rows(db, """select record_id, workspace_id, usage_metadata.job_run_id as job_run_id,
                                     map_entries(custom_tags) as tags from system_billing.usage"""):
        if not record["tags"]:
            continue
        assert record["job_run_id"] is not None, "the generator now tags other compute: extend this test"
        run = (record["workspace_id"], record["job_run_id"])
        tags[run] = {t["key"]: t["value"] for t in record["tags"]}
        records[run].add(record["record_id"])
    totals: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for run, run_tags in tags.items():
        for key, value in run_tags.items():
            totals[(key, value)][0] += runs[run]
            totals[(key, value)][1] += len(records[run])
    billed = rows(db, "select sum(billed_cost) as c from ground_truth.cost_coverage where platform = 'databricks'")[0]["c"]
    count = rows(db, "select count(distinct record_id) as n from system_billing.usage")[0]["n"]
    return {k: (v[0], v[1]) for k, v in totals.items()}, billed, count


def _check_labels(db: Path, got: list[dict[str, Any]], keys: list[str] | None) -> None:
    for platform, source, (truth, billed, items) in (
        ("bigquery", "job_label", _bigquery_label_truth(db)),
        ("databricks", "custom_tag", _databricks_tag_truth(db)),
    ):
        wanted_keys = {k for k, _ in truth} if keys is None else {k for k, _ in truth} & set(keys)
        assert wanted_keys, f"{platform}: the generator wrote no label to compare"
        mine = [r for r in got if r["platform"] == platform]
        assert {r["label_source"] for r in mine} == {source}
        assert {r["label_key"] for r in mine} == wanted_keys, platform
        for key in wanted_keys:
            values = {r["label_value"]: r for r in mine if r["label_key"] == key}
            expected = {v: t for (k, v), t in truth.items() if k == key}
            expected["(unlabelled)"] = (billed - sum((t[0] for t in expected.values()), Decimal(0)),
                                        items - sum(t[1] for t in expected.values()))
            assert set(values) == set(expected), (platform, key)
            for value, (cost, count) in expected.items():
                assert _close(values[value]["cost"], cost), (platform, key, value, values[value]["cost"], cost)
                assert values[value]["item_count"] == count, (platform, key, value)
            # conservation: the values of one key and '(unlabelled)' are the platform's bill
            assert _close(_sum([r["cost"] for r in values.values()]), billed), (platform, key)
            assert all(_close(r["billed_cost"], billed) for r in values.values()), (platform, key)
        coverage = rows(db, f"select sum(billed_cost) as c from ground_truth.cost_coverage where platform = '{platform}'")
        assert _close(billed, coverage[0]["c"]), f"{platform}: the truth's billed cost and its priced items differ"


def test_cost_by_label_for_chosen_keys_equals_truth(compiled: Compiled) -> None:
    _check_labels(compiled.db, compiled.run(compiled.explicit, "cost_by_label"), EXPLICIT_LABEL_KEYS)


def test_cost_by_label_for_every_key_conserves_the_bill(compiled: Compiled) -> None:
    _check_labels(compiled.db, compiled.run(compiled.defaults, "cost_by_label"), None)


# ---------------------------------------------------------------------------------------------
# docs
# ---------------------------------------------------------------------------------------------
def test_every_output_column_is_documented(compiled: Compiled) -> None:
    """analyses/_analyses.yml documents exactly the columns each analysis returns (both grains of
    model_cost_history together)."""
    documented = {a["name"]: [c["name"] for c in a.get("columns", [])]
                  for a in yaml.safe_load((REPO / "analyses" / "_analyses.yml").read_text())["analyses"]}
    for analysis in ANALYSES:
        got = set(compiled.columns(compiled.explicit, analysis)) | set(compiled.columns(compiled.defaults, analysis))
        assert got == set(documented[analysis]), (analysis, sorted(got ^ set(documented[analysis])))
