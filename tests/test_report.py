"""`python -m pipeline_costs report` against the integration build and the generator's ground truth:
the datasets and headline figures are the truth's, both readers (DuckDB file, dbt target) give the
same data, the four outputs agree with each other, bad input fails in one line, names are escaped."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pipeline_costs import cli
from pipeline_costs import report as report_module
from pipeline_costs.dashboards import load_spec
from report_support import (
    ALLOCATED_MONEY_TOLERANCE,
    MONEY_TOLERANCE,
    allocated_pipelines,
    close,
    make_report,
    nasty_copy,
    records,
    strings_in,
)
from support import MARTS_SCHEMA, PROJECT_DIR, integration_build, rows, subprocess_env


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return integration_build(tmp_path_factory, "full_refresh")


@pytest.fixture(scope="module")
def report(built: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("report")
    return out, make_report(built, out)


# ---------------------------------------------------------------------------------------------
# the figures are the ground truth's


def test_every_run_total_equals_ground_truth(built: Path, report: tuple[Path, dict[str, Any]]) -> None:
    _, doc = report
    got = {(r["pipeline_id"], r["pipeline_run_id"]): r for r in records(doc, "pipeline_runs")}
    truth = {(r["pipeline_id"], r["pipeline_run_id"]): r for r in rows(built, """
        select pipeline_id, pipeline_run_id, total_cost, previous_run_cost from ground_truth.pipeline_cost_history""")}
    assert truth and set(got) == set(truth)
    mart = {(r["pipeline_id"], r["pipeline_run_id"]): r["total_cost"]
            for r in rows(built, f"select pipeline_id, pipeline_run_id, total_cost from {MARTS_SCHEMA}.pipeline_cost_history")}
    allocated = allocated_pipelines(built)
    for key, run in got.items():
        assert Decimal(str(run["total_cost"])) == mart[key], ("the report lost digits", key)
        tolerance = ALLOCATED_MONEY_TOLERANCE if key[0] in allocated else MONEY_TOLERANCE
        assert close(run["total_cost"], truth[key]["total_cost"], tolerance), key


def test_headline_last_run_and_change_are_the_truths(built: Path, report: tuple[Path, dict[str, Any]]) -> None:
    _, doc = report
    tiles = {tile["visualization"]: tile for tile in doc["headline"]}
    last = rows(built, """select pipeline_id, pipeline_run_id, total_cost, previous_run_cost
                          from ground_truth.pipeline_cost_history order by run_started_at desc limit 1""")[0]
    tolerance = ALLOCATED_MONEY_TOLERANCE if last["pipeline_id"] in allocated_pipelines(built) else MONEY_TOLERANCE
    cost_tile = tiles["pipeline_runs.last_run_cost"]
    assert (cost_tile["row"]["pipeline_id"], cost_tile["row"]["pipeline_run_id"]) == (last["pipeline_id"], last["pipeline_run_id"])
    assert close(cost_tile["value"], last["total_cost"], tolerance)
    change = tiles["pipeline_runs.change_vs_previous"]
    assert change["row"]["pipeline_run_id"] == last["pipeline_run_id"]
    if last["previous_run_cost"]:
        assert close(change["row"]["previous_run_cost"], last["previous_run_cost"], tolerance)
        expected = (last["total_cost"] - last["previous_run_cost"]) / last["previous_run_cost"] * 100
        assert abs(float(change["value"]) - float(expected)) < 1e-6 * max(1.0, abs(float(expected)))
    md = (report[0] / "report.md").read_text(encoding="utf-8")
    # the tile's amount (checked against the truth above) as the report presents money
    assert f"| {cost_tile['label']} | {report_module.money(cost_tile['value'], cost_tile['row']['currency'])} |" in md


def test_top_queries_of_each_run_are_the_truths(built: Path, report: tuple[Path, dict[str, Any]]) -> None:
    _, doc = report
    top_n = load_spec().parameters["top_n"].report
    per_run: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for query in records(doc, "queries"):
        if query["pipeline_run_id"] is not None:
            per_run.setdefault((query["pipeline_id"], query["pipeline_run_id"]), []).append(query)
    truth: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for query in rows(built, """select job_id, pipeline_id, pipeline_run_id, cost from ground_truth.query_costs
                               where pipeline_run_id is not null"""):
        truth.setdefault((query["pipeline_id"], query["pipeline_run_id"]), []).append(query)
    assert truth and set(per_run) == set(truth)
    allocated = allocated_pipelines(built)
    for run, queries in truth.items():
        want = sorted(queries, key=lambda q: q["cost"], reverse=True)[:top_n]
        got = sorted(per_run[run], key=lambda q: q["cost"], reverse=True)[:top_n]
        tolerance = ALLOCATED_MONEY_TOLERANCE if run[0] in allocated else MONEY_TOLERANCE
        assert len(got) == len(want), run
        assert all(close(g["cost"], w["cost"], tolerance) for g, w in zip(got, want, strict=True)), run
        # ids where the cost ranks without a tie
        unique = [w for w in want if sum(1 for q in queries if abs(q["cost"] - w["cost"]) <= tolerance) == 1]
        assert {w["job_id"] for w in unique} <= {g["query_id"] for g in got}, run


def test_overall_top_queries_in_markdown_are_the_most_expensive(built: Path, report: tuple[Path, dict[str, Any]]) -> None:
    out, _ = report
    want = rows(built, "select job_id, cost from ground_truth.query_costs order by cost desc limit 3")
    md = (out / "report.md").read_text(encoding="utf-8")
    section = md[md.index("## Top 10 most expensive queries"):].split("\n## ")[0]
    lines = [line for line in section.splitlines() if line.startswith("| [")]
    for line, query in zip(lines, want, strict=False):
        assert f"[{query['job_id']}]" in line
        assert f"USD {query['cost']:,.2f}" in line


def test_billed_and_attributed_spend_equal_ground_truth(built: Path, report: tuple[Path, dict[str, Any]]) -> None:
    _, doc = report
    got = {(r["platform"], r["cost_date"], r["product"]): r for r in records(doc, "attribution_coverage")}
    truth = {(r["platform"], r["cost_date"].isoformat(), r["product"]): r for r in rows(built, """
        select platform, cost_date, product, billed_cost, attributed_cost from ground_truth.cost_coverage""")}
    window = doc["window"]
    truth = {k: v for k, v in truth.items() if window["since"] <= k[1] <= window["until"]}
    assert truth and set(got) == set(truth)
    for key, want in truth.items():
        tolerance = ALLOCATED_MONEY_TOLERANCE if key[0] == "databricks" else MONEY_TOLERANCE
        for column in ("billed_cost", "attributed_cost"):
            assert close(got[key][column], want[column], tolerance), (key, column)


def test_window_ends_on_the_latest_day_with_data(built: Path, report: tuple[Path, dict[str, Any]]) -> None:
    _, doc = report
    latest = rows(built, f"""select greatest(max(cast(run_started_at as date)), (select max(cost_date)
        from {MARTS_SCHEMA}.cost_coverage)) as d from ground_truth.pipeline_cost_history""")[0]["d"]
    assert doc["window"]["until"] == latest.isoformat()
    assert doc["window"]["days"] == 30
    assert dt.date.fromisoformat(doc["window"]["since"]) == latest - dt.timedelta(days=29)


def test_window_options(built: Path, report: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _, doc = report
    until = dt.date.fromisoformat(doc["window"]["until"])
    since = until - dt.timedelta(days=6)
    week = make_report(built, tmp_path / "week", "--since", since.isoformat(), "--days", "7")
    assert week["window"] == {"since": since.isoformat(), "until": until.isoformat(), "days": 7}
    dates = {r["run_date"] for r in records(week, "pipeline_runs")}
    assert dates and min(dates) >= since.isoformat() and max(dates) <= until.isoformat()
    earlier = make_report(built, tmp_path / "earlier", "--until", since.isoformat(), "--title", "Earlier")
    assert earlier["window"]["until"] == since.isoformat() and earlier["window"]["days"] == 30
    assert earlier["title"] == "Earlier"


# ---------------------------------------------------------------------------------------------
# the dbt reader, the outputs


def _normal(value: Any) -> str:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return format(Decimal(value).normalize(), "f")
    return json.dumps(value)


def test_dbt_reader_gives_the_same_datasets(built: Path, report: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    env = subprocess_env(DBT_DUCKDB_PATH=str(built), DBT_TARGET_PATH=str(tmp_path / "target"),
                         DBT_LOG_PATH=str(tmp_path / "logs"))
    result = subprocess.run(
        [sys.executable, "-m", "pipeline_costs", "report", "--dbt-project-dir", str(PROJECT_DIR), "--profiles-dir",
         str(PROJECT_DIR), "--target", "duckdb", "--out", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == str((tmp_path / "out" / "report.html").resolve())
    via_dbt = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"), parse_float=Decimal)
    _, via_duckdb = report
    assert via_dbt["source"]["kind"] == "dbt" and via_dbt["source"]["adapter"] == "duckdb"
    assert via_dbt["window"] == via_duckdb["window"]
    assert set(via_dbt["datasets"]) == set(via_duckdb["datasets"])
    for query_id, dataset in via_duckdb["datasets"].items():
        other = via_dbt["datasets"][query_id]
        assert other["columns"] == dataset["columns"], query_id
        got = sorted(tuple(_normal(v) for v in row) for row in other["rows"])
        want = sorted(tuple(_normal(v) for v in row) for row in dataset["rows"])
        assert got == want, query_id


def test_json_csv_and_markdown_agree(report: tuple[Path, dict[str, Any]]) -> None:
    out, doc = report
    assert doc["package_version"] and doc["generated_at"] and doc["window"]["days"] == 30
    spec = load_spec()
    expected = {q.id for q in spec.queries.values() if q.report and not q.same_rows_as}
    assert set(doc["datasets"]) == expected
    assert {p.stem for p in (out / "csv").glob("*.csv")} == expected
    for query_id, dataset in doc["datasets"].items():
        with (out / "csv" / f"{query_id}.csv").open(encoding="utf-8", newline="") as handle:
            table = list(csv.reader(handle))
        assert table[0] == dataset["columns"]
        assert len(table) - 1 == len(dataset["rows"]), query_id
        for line, row in zip(table[1:], dataset["rows"], strict=True):
            for text, value in zip(line, row, strict=True):
                if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                    assert Decimal(text) == value, (query_id, text, value)  # exact both ways
                elif value is None:
                    assert text == ""
                elif isinstance(value, bool):
                    assert text == str(value).lower()
                else:
                    assert text == value, (query_id, text, value)
    md = (out / "report.md").read_text(encoding="utf-8")
    for heading in ("## Headline", "## Top pipelines", "## Anomalous runs", "## Top 10 most expensive queries",
                    "## Recommendations"):
        assert heading in md
    for tile in doc["headline"]:
        assert f"| {tile['label']} |" in md
    for block in re.split(r"\n\n", md):
        table = [line for line in block.splitlines() if line.startswith("|")]
        if table:
            widths = {len(re.findall(r"(?<!\\)\|", line)) for line in table}
            assert len(widths) == 1, f"a Markdown table row has a stray |: {table[:3]}"
    top = doc["top_pipelines"][0]
    runs = [r for r in records(doc, "pipeline_runs") if r["pipeline_id"] == top["pipeline_id"]]
    assert top["runs"] == len(runs) and top["total_cost"] == sum(Decimal(str(r["total_cost"])) for r in runs)


# ---------------------------------------------------------------------------------------------
# bad input, escaping


@pytest.mark.parametrize("args, message", [
    (["--duckdb", "{tmp}/missing.duckdb"], "does not exist"),
    (["--duckdb", "{tmp}/empty.duckdb"], "lacks"),
    (["--duckdb", "{tmp}/not-a-database.duckdb"], "cannot read it as a DuckDB database"),
    (["--duckdb", "{db}", "--since", "2026-13-01"], "expected a date"),
    (["--duckdb", "{db}", "--until", "yesterday"], "expected a date"),
    (["--duckdb", "{db}", "--since", "2026-02-01", "--until", "2026-01-01"], "is after"),
    (["--duckdb", "{db}", "--days", "0"], "at least 1"),
    (["--duckdb", "{db}", "--schema", "x; drop table y"], "only letters"),
    (["--dbt-project-dir", "{tmp}/nowhere"], "is not a dbt project"),
])
def test_bad_input_is_one_clear_line(built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     args: list[str], message: str) -> None:
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    (tmp_path / "not-a-database.duckdb").write_text("not a database")
    argv = [a.format(tmp=tmp_path, db=built) for a in args]
    assert cli.main(["report", *argv, "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], captured.err
    assert not (tmp_path / "out" / "report.html").exists()


def test_names_are_escaped_in_every_output(built: Path, tmp_path: Path) -> None:
    copy, pipeline, model = nasty_copy(built, tmp_path / "nasty")
    doc = make_report(copy, tmp_path / "out")
    assert any(r["pipeline_id"] == pipeline for r in records(doc, "pipeline_runs")), "the rename reached no row"
    assert any(r["model_name"] == model for r in records(doc, "model_runs"))
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<img" not in html.lower() and "</script><b>" not in html
    assert html.lower().count("</script>") == 3, "only the page's own three script blocks end"
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.DOTALL)
    assert data and "\\u003cimg src=x onerror=alert(1)\\u003e\\u003c/script\\u003e\\u003cb\\u003e" in data.group(1)
    assert "\u2028" not in data.group(1)
    assert pipeline in set(strings_in(json.loads(data.group(1)))), "the name is in the page's data, as it is"
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&lt;b&gt;" in md
