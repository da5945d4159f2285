"""The dashboards as code (dashboards/pipeline_costs.yml + models/marts/dashboards): the spec is checked,
its queries run and filter the way the report assumes, the dashboard views equal the generator's ground
truth, parameters are escaped for every dialect, and the exposures follow the spec."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import sqlglot
import yaml
from pipeline_costs import dashboards
from support import MARTS_SCHEMA, PROJECT_DIR, REPO, as_decimal, integration_build, rows, run_dbt

SPEC = dashboards.load_spec()
EXPOSURES = REPO / "models" / "marts" / "dashboards" / "_dashboards__exposures.yml"
MONEY = Decimal("1e-9")  # the generator prices in Python floats-free decimals; the SQL sums in another order
NASTY = ["x' or 1=1 --", "back\\slash\\", "quote''twice", "финансы*/daily", "new\nline", "$$ {{ run_id }} %s"]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return integration_build(tmp_path_factory, "full_refresh")


def _run(db: Path, query: dashboards.Query, values: dict) -> list[tuple]:
    relations = dashboards.relations_in_schema(MARTS_SCHEMA, dashboards.all_marts(SPEC))
    sql = dashboards.render_sql(SPEC, query, relations, values, "duckdb")
    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _key(row: dict) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in row.items()))


def _same_money(got: dict, want: dict) -> list:
    """Keys missing on either side, or whose amounts differ by more than MONEY."""
    return sorted(set(got) ^ set(want), key=str) + [
        (k, got[k], want[k]) for k in set(got) & set(want) if abs(as_decimal(got[k]) - as_decimal(want[k])) > MONEY]


def _window(db: Path) -> tuple[dt.date, dt.date]:
    span = rows(db, f"select min(cost_date) as lo, max(cost_date) as hi from {MARTS_SCHEMA}.cost_coverage")[0]
    return span["lo"], span["hi"] + dt.timedelta(days=60)  # forecast days included


# --- the spec ---------------------------------------------------------------------------------


def test_spec_covers_every_section_the_dashboards_promise() -> None:
    types = Counter(v.type for q in SPEC.queries.values() for v in q.visualizations)
    for kind in ("line", "column", "scatter", "heatmap", "box", "counter", "table"):
        assert types[kind], f"no {kind} visualization in the spec"
    assert {"pipeline", "date_range", "run_id"} <= set(SPEC.parameters)
    for dashboard in SPEC.dashboards.values():
        for key in dashboard.visualization_keys():
            assert SPEC.visualization(key).query in SPEC.queries
    audit = SPEC.visualization("queries.audit")
    assert any(c.link == "console_url" for c in audit.columns)
    assert {"pipeline_id", "pipeline_run_id", "model_name", "original_file_path"} <= {c.name for c in audit.columns}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s["queries"]["pipeline_runs"].update(sql=s["queries"]["pipeline_runs"]["sql"].replace(
        "({{ pipeline }})", "('{{ pipeline }}')", 1)), "must be written without quotes"),
    (lambda s: s["queries"]["model_runs"].update(sql=s["queries"]["model_runs"]["sql"].replace(
        "'{{ run_id }}' = '(all)'", "{{ run_id }} = '(all)'")), "must be written inside quotes"),
    (lambda s: s["queries"]["anomalies"].update(parameters=["pipeline"]), "do not match the SQL's placeholders"),
    (lambda s: s["dashboards"]["trends"]["widgets"].append({"visualization": "pipeline_runs.nope"}),
     "no visualization 'pipeline_runs.nope'"),
    (lambda s: s["queries"]["recommendations"]["visualizations"][1].pop("columns"), "a table needs 'columns'"),
    (lambda s: s["parameters"]["top_n"].pop("report"), "'report' (the binding that means everything)"),
    (lambda s: s["queries"]["reuse"].update(sql="select 1"), "parameters"),
])
def test_a_broken_spec_is_refused_with_the_reason(tmp_path: Path, edit, message: str) -> None:
    raw = yaml.safe_load(dashboards.SPEC_PATH.read_text())
    edit(raw)
    path = tmp_path / "spec.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    with pytest.raises(dashboards.SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        dashboards.load_spec(path)


@pytest.mark.parametrize("dialect", ["duckdb", "bigquery", "databricks"])
def test_parameter_values_become_escaped_literals(dialect: str) -> None:
    query = SPEC.queries["model_runs"]
    relations = {m: f"proj.ds.{m}" for m in query.marts}
    for value in NASTY:
        values = {"pipeline": [value, "other"], "date_range": ("2026-11-01", "2026-11-20"), "run_id": value}
        sql = dashboards.render_sql(SPEC, query, relations, values, dialect)
        read = "spark" if dialect == "databricks" else dialect
        tree = sqlglot.parse_one(sql, read=read)
        literals = [lit.this for lit in tree.find_all(sqlglot.exp.Literal) if lit.is_string]
        assert literals.count(value) == 4, (dialect, value, literals)  # pipeline twice, run id twice
    con = duckdb.connect()
    for value in NASTY:
        assert con.execute(f"select {dashboards.sql_string_literal(value, 'duckdb')}").fetchone()[0] == value


def test_bad_values_are_refused() -> None:
    query = SPEC.queries["queries"]
    relations = {m: m for m in query.marts}
    base = {"pipeline": ["(all)"], "date_range": ("2026-11-01", "2026-11-20"), "run_id": "(all)", "top_n": 10}
    for bad, message in (({"top_n": "10; drop table x"}, "is not a number"),
                         ({"date_range": ("2026-11-01'; --", "2026-11-20")}, "expected YYYY-MM-DD"),
                         ({"pipeline": []}, "at least one value")):
        with pytest.raises(dashboards.SpecError, match=message):
            dashboards.render_sql(SPEC, query, relations, {**base, **bad}, "duckdb")
    with pytest.raises(dashboards.SpecError, match="no value for parameter"):
        dashboards.render_sql(SPEC, query, relations, {"pipeline": ["(all)"]}, "duckdb")


@pytest.mark.parametrize("dialect", ["bigquery", "databricks"])
def test_every_query_is_valid_sql_in_the_production_dialects(dialect: str) -> None:
    relations = {m: f"`acme-analytics`.pipeline_costs.{m}" if dialect == "bigquery" else f"main.pipeline_costs.{m}"
                 for m in dashboards.all_marts(SPEC)}
    values = dashboards.report_values(SPEC, dt.date(2026, 11, 1), dt.date(2026, 11, 20))
    for query in SPEC.queries.values():
        sql = dashboards.render_sql(SPEC, query, relations, values, dialect)
        sqlglot.parse_one(sql, read="spark" if dialect == "databricks" else dialect,
                          error_level=sqlglot.ErrorLevel.RAISE)
        redash = dashboards.redash_sql(SPEC, query, relations)
        assert "{{ mart." not in redash
        for name in query.parameters:
            assert "{{ " + name in redash, (query.id, name)


# --- the queries on the built marts -------------------------------------------------------------


def test_a_single_value_gives_the_rows_the_report_filters_out_of_everything(db: Path) -> None:
    """The report runs each query once bound to everything and filters in the browser: that must give
    exactly what the query gives for one pipeline, one run or a narrower date range."""
    since, until = _window(db)
    everything = dashboards.report_values(SPEC, since, until)
    spike = rows(db, "select pipeline_id, pipeline_run_id from ground_truth.planted_findings where finding = 'spike'")[0]
    run_key = f"{spike['pipeline_id']} | {spike['pipeline_run_id']}"
    narrow = (since + dt.timedelta(days=5), since + dt.timedelta(days=9))
    checked = 0
    for query in SPEC.queries.values():
        if not query.report:
            continue
        all_rows = _run(db, query, everything)
        assert all_rows, f"{query.id}: no rows on the integration build"
        cases = []
        if "pipeline" in query.filters:
            cases.append(({"pipeline": [spike["pipeline_id"]]}, query.filters["pipeline"], {spike["pipeline_id"]}))
        if "run_id" in query.filters:
            cases.append(({"run_id": run_key}, query.filters["run_id"], {run_key}))
        if "run_a" in query.filters:
            cases.append(({"run_a": run_key, "run_b": run_key}, query.filters["run_a"], {run_key}))
        for binding, column, wanted in cases:
            expected = Counter(_key(r) for r in all_rows if r[column] in wanted)
            got = Counter(_key(r) for r in _run(db, query, {**everything, **binding}))
            assert expected, (query.id, binding)
            assert got == expected, (query.id, binding)
            checked += 1
        if "date_range" in query.filters:
            column = query.filters["date_range"]
            expected = Counter(_key(r) for r in all_rows if narrow[0] <= r[column] <= narrow[1])
            got = Counter(_key(r) for r in _run(db, query, {**everything, "date_range": narrow}))
            assert got == expected and expected, query.id
            checked += 1
        if query.same_rows_as:
            other = _run(db, SPEC.queries[query.same_rows_as], everything)
            assert Counter(map(_key, all_rows)) == Counter(map(_key, other)), query.id
    assert checked >= 20


def test_top_queries_are_the_most_expensive_of_each_run(db: Path) -> None:
    since, until = _window(db)
    got = _run(db, SPEC.queries["queries"], {**dashboards.report_values(SPEC, since, until), "top_n": 3})
    truth = rows(db, """
        select job_id, coalesce(pipeline_id, '(no pipeline)') as pipeline_key, pipeline_run_id, cost_date, cost
        from ground_truth.query_costs""")
    cells = defaultdict(list)
    for t in truth:
        cells[(t["pipeline_key"], t["pipeline_run_id"], t["cost_date"])].append(t)
    expected = set()
    for cell in cells.values():
        cell.sort(key=lambda t: (-as_decimal(t["cost"]), t["job_id"]))
        expected.update(t["job_id"] for t in cell[:3])
    assert {r["query_id"] for r in got} == expected
    assert [r["cost"] for r in got] == sorted((r["cost"] for r in got), reverse=True)


def test_dashboard_views_equal_the_ground_truth(db: Path) -> None:
    s = MARTS_SCHEMA
    truth_runs = {(r["pipeline_id"], r["pipeline_run_id"]): as_decimal(r["total_cost"])
                  for r in rows(db, "select * from ground_truth.pipeline_cost_history")}
    runs = rows(db, f"select * from {s}.dashboard_pipeline_runs")
    assert truth_runs
    assert not _same_money({(r["pipeline_id"], r["pipeline_run_id"]): r["total_cost"] for r in runs}, truth_runs)
    truth_anomalies = {(r["pipeline_id"], r["pipeline_run_id"]): r["anomaly_kind"] for r in rows(db, """
        select * from ground_truth.cost_anomalies where entity_type = 'pipeline_run' and is_anomaly""")}
    assert truth_anomalies
    assert {(r["pipeline_id"], r["pipeline_run_id"]): r["anomaly_kind"] for r in runs if r["is_anomaly"]} == truth_anomalies
    assert all((r["anomaly_cost"] is not None) == r["is_anomaly"] for r in runs)
    assert all(r["run_key"] == f"{r['pipeline_id']} | {r['pipeline_run_id']}" for r in runs)

    per_run = defaultdict(Decimal)
    for r in rows(db, f"select pipeline_id, pipeline_run_id, cost from {s}.dashboard_model_runs"):
        per_run[(r["pipeline_id"], r["pipeline_run_id"])] += as_decimal(r["cost"])
    assert not _same_money(per_run, truth_runs), "a run's model rows must add up to the run's cost"

    truth_days = defaultdict(dict)
    for r in rows(db, "select * from ground_truth.daily_spend"):
        truth_days[(r["series_type"], r["series_id"])][r["spend_date"]] = as_decimal(r["cost"])
    actual = rows(db, f"select * from {s}.dashboard_daily_costs where row_kind = 'actual' order by spend_date")
    assert len(actual) == sum(len(d) for d in truth_days.values())
    running: dict[tuple, Decimal] = defaultdict(Decimal)
    for r in actual:
        series = (r["series_type"], r["series_id"])
        assert abs(as_decimal(r["cost"]) - truth_days[series][r["spend_date"]]) <= MONEY, r
        month = (series, r["spend_date"].replace(day=1))
        running[month] += truth_days[series][r["spend_date"]]
        assert abs(as_decimal(r["cumulative_month_cost"]) - running[month]) <= MONEY, r
    forecast = rows(db, f"select count(*) as n from {s}.dashboard_daily_costs where row_kind = 'forecast'")[0]["n"]
    assert forecast == rows(db, f"select count(*) as n from {s}.cost_forecast")[0]["n"] > 0


def test_query_links_point_at_the_warehouse_page(db: Path) -> None:
    truth = {r["job_id"]: r for r in rows(db, "select * from ground_truth.query_costs")}
    views = rows(db, f"select * from {MARTS_SCHEMA}.dashboard_query_costs")
    assert len(views) == len(truth)
    linked = Counter()
    for r in views:
        t = truth[r["query_id"]]
        if t["platform"] == "bigquery":
            expected = (f"https://console.cloud.google.com/bigquery?project={t['project_id']}"
                        f"&j=bq:{t['location'].upper()}:{t['job_id']}&page=queryresults")
        elif t["project_id"] == "1029384756473829":  # the workspace integration_tests/dbt_project.yml gives a URL
            expected = ("https://adb-1029384756473829.9.azuredatabricks.net/sql/history?uiQueryProfileVisible=true"
                        f"&queryId={t['job_id']}&o=1029384756473829")
        else:
            expected = None
        assert r["console_url"] == expected, r
        linked[(t["platform"], expected is not None)] += 1
    assert linked[("bigquery", True)] and linked[("databricks", True)] and linked[("databricks", False)]


# --- exposures ----------------------------------------------------------------------------------


def test_exposures_follow_the_spec() -> None:
    declared = yaml.safe_load(EXPOSURES.read_text())["exposures"]
    by_name = {e["name"]: e for e in declared}
    assert set(by_name) == {d.exposure for d in SPEC.dashboards.values()}
    for dashboard in SPEC.dashboards.values():
        exposure = by_name[dashboard.exposure]
        assert exposure["label"] == dashboard.name
        assert sorted(exposure["depends_on"]) == [f"ref('{m}')" for m in SPEC.dashboard_marts(dashboard)]


def test_exposures_are_off_by_default_and_take_url_and_owner_from_vars(tmp_path: Path) -> None:
    db = tmp_path / "parse.duckdb"
    run_dbt(["parse"], db)
    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())
    assert not [e for e in manifest["exposures"].values() if e["package_name"] == "dbt_pipeline_costs"]
    run_dbt(["parse", "--vars", json.dumps({
        "dbt_pipeline_costs_redash_enabled": True, "dbt_pipeline_costs_redash_url": "https://redash.acme.io/",
        "dbt_pipeline_costs_redash_owner_name": "Finance data", "dbt_pipeline_costs_redash_owner_email": "fd@acme.io"})], db)
    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values() if e["package_name"] == "dbt_pipeline_costs"}
    assert set(exposures) == {d.exposure for d in SPEC.dashboards.values()}
    for dashboard in SPEC.dashboards.values():
        exposure = exposures[dashboard.exposure]
        assert exposure["url"].startswith("https://redash.acme.io/dashboards?q=")
        assert exposure["owner"] == {"name": "Finance data", "email": "fd@acme.io"}
        assert sorted(exposure["depends_on"]["nodes"]) == [
            f"model.dbt_pipeline_costs.{m}" for m in SPEC.dashboard_marts(dashboard)]
