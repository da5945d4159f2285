"""The report's HTML in headless Chromium (Playwright driving the Debian chromium-headless-shell; no
browser download): it loads from file:// with no console errors and no request leaving the file, every
chart has data and every table rows, the pipeline filter and the run comparison re-draw what they should
(checked against the generator's ground truth), and a name written like an HTML injection is shown as
text. Screenshots go to build/test-artifacts/report-*.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pipeline_costs.dashboards import load_spec
from report_support import (
    ALLOCATED_MONEY_TOLERANCE,
    MONEY_TOLERANCE,
    allocated_pipelines,
    make_report,
    nasty_copy,
)
from support import REPO, integration_build, rows

CHROMIUM = Path(os.environ.get("PIPELINE_COSTS_CHROMIUM", "/usr/bin/chromium-headless-shell"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = REPO / "build" / "test-artifacts"
CHART_TYPES = ("line", "area", "column", "scatter", "heatmap", "box")

CHARTS_JS = """() => Array.from(document.querySelectorAll('.chart')).map(gd => ({
    viz: gd.getAttribute('data-viz'),
    points: (gd.data || []).reduce((n, t) => n + Math.max((t.x || []).length, (t.y || []).length, (t.z || []).length), 0),
    names: (gd.data || []).filter(t => t.showlegend !== false && t.name).map(t => t.name),
    categories: (gd.data || []).flatMap(t => t.type === 'heatmap' ? t.y : t.type === 'box' ? [t.name] : []),
}))"""
TABLES_JS = """() => Array.from(document.querySelectorAll('table.data-table[data-viz]')).map(t => ({
    viz: t.getAttribute('data-viz'),
    headers: Array.from(t.querySelectorAll('thead th')).map(th => th.textContent),
    rows: Array.from(t.querySelectorAll('tbody tr')).map(tr => Array.from(tr.cells).map(td => td.textContent)),
}))"""


def _unescape(text: str) -> str:
    """Plotly labels carry names with < > & escaped (report.js pt())."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"headless Chromium is missing ({CHROMIUM}): run make browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright for Python is missing: run make install")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return integration_build(tmp_path_factory, "full_refresh")


class Opened:
    """A report page and what it did: console errors, page errors, requests off the file, dialogs."""

    def __init__(self, browser: Any, html: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1440, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:")) else self.requests.append(r.url))
        self.page.on("dialog", self._dialog)
        self.page.goto(html.as_uri())
        self.page.wait_for_function("Number(document.body.getAttribute('data-drawn')) >= 1", timeout=90_000)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def drawn(self) -> int:
        return int(self.page.evaluate("Number(document.body.getAttribute('data-drawn'))"))

    def wait_redraw(self, before: int) -> None:
        self.page.wait_for_function(f"Number(document.body.getAttribute('data-drawn')) > {before}", timeout=60_000)

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"report-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        print(f"screenshot: {path}")
        return path

    def charts(self) -> dict[str, dict[str, Any]]:
        return {c["viz"]: c for c in self.page.evaluate(CHARTS_JS)}

    def tables(self) -> dict[str, dict[str, Any]]:
        return {t["viz"]: t for t in self.page.evaluate(TABLES_JS)}


@pytest.fixture(scope="module")
def opened(chromium: Any, built: Path, tmp_path_factory: pytest.TempPathFactory) -> Opened:
    out = tmp_path_factory.mktemp("report-browser")
    make_report(built, out)
    return Opened(chromium, out / "report.html")


def test_loads_without_errors_and_every_chart_and_table_has_data(opened: Opened) -> None:
    opened.screenshot("top", full_page=False)
    opened.screenshot("full")
    assert not opened.errors, opened.errors
    assert not opened.requests, f"the page asked the network for {opened.requests[:3]}"
    spec = load_spec()
    widgets = [spec.visualization(key) for d in spec.dashboards.values() for key in d.visualization_keys()]
    charts, tables = opened.charts(), opened.tables()
    assert set(charts) == {v.key for v in widgets if v.type in CHART_TYPES}
    assert set(tables) == {v.key for v in widgets if v.type == "table"}
    assert not [key for key, chart in charts.items() if chart["points"] == 0], "charts without data"
    assert not [key for key, table in tables.items() if not table["rows"]], "tables without rows"
    tiles = opened.page.evaluate("""() => Array.from(document.querySelectorAll('#headline .tile')).map(t =>
        [t.getAttribute('data-viz'), t.querySelector('.tile-value').getAttribute('data-value')])""")
    assert tiles and all(value not in (None, "") for _, value in tiles), tiles
    links = opened.page.evaluate("""() => Array.from(document.querySelectorAll('table.data-table a')).map(a =>
        [a.getAttribute('href'), a.getAttribute('target'), a.getAttribute('rel')])""")
    assert links and all(href.startswith("https://") and target == "_blank" and "noopener" in rel for href, target, rel in links)


def _pipeline_with_runs(db: Path) -> tuple[str, list[dict[str, Any]]]:
    """A BigQuery pipeline of the ground truth with several runs, and its runs, latest first."""
    pipeline = rows(db, """select pipeline_id from ground_truth.pipeline_cost_history where platform = 'bigquery'
                           group by pipeline_id having count(*) >= 3 order by count(*) desc, pipeline_id limit 1""")[0]
    runs = rows(db, f"""select pipeline_run_id, total_cost from ground_truth.pipeline_cost_history
                        where pipeline_id = '{pipeline['pipeline_id']}' order by run_started_at desc""")
    return pipeline["pipeline_id"], runs


def test_pipeline_filter_and_run_comparison_redraw_from_the_truth(opened: Opened, built: Path) -> None:
    pipeline, runs = _pipeline_with_runs(built)
    page = opened.page
    before = opened.drawn()
    page.click(".picker > summary")
    page.click("#filter-pipelines button[data-action='none']")
    page.check(f"#filter-pipelines input[value='{pipeline}']")
    page.keyboard.press("Escape")
    page.click("h1")
    opened.wait_redraw(before)

    charts, tables = opened.charts(), opened.tables()
    assert [_unescape(n) for n in charts["pipeline_runs.cost_per_run"]["names"]] == [pipeline]
    assert [_unescape(n) for n in charts["pipeline_runs.cost_distribution"]["categories"]] == [pipeline]
    assert [_unescape(n) for n in charts["daily_pipeline_costs.heatmap"]["categories"]] == [pipeline]
    runs_table = tables["pipeline_runs.runs_table"]
    column = runs_table["headers"].index("Pipeline")
    assert {row[column] for row in runs_table["rows"]} == {pipeline}
    assert len(runs_table["rows"]) == min(len(runs), 200)
    status = page.text_content("#filter-status") or ""
    assert status.startswith(f"{len(runs):,} runs"), status

    # the run comparison: the pipeline's two latest runs
    run_b, run_a = runs[0], runs[1]
    for select, run in (("#compare-a", run_a), ("#compare-b", run_b)):
        before = opened.drawn()
        page.select_option(select, f"{pipeline} | {run['pipeline_run_id']}")
        opened.wait_redraw(before)
    totals = {side: Decimal(page.get_attribute(f"[data-total='{side}']", "data-value") or "nan") for side in ("a", "b", "diff")}
    tolerance = ALLOCATED_MONEY_TOLERANCE if pipeline in allocated_pipelines(built) else MONEY_TOLERANCE
    assert abs(totals["a"] - run_a["total_cost"]) <= tolerance
    assert abs(totals["b"] - run_b["total_cost"]) <= tolerance
    assert abs(totals["diff"] - (run_b["total_cost"] - run_a["total_cost"])) <= 2 * tolerance
    names = [_unescape(n) for n in opened.charts()["run_comparison.run_vs_run"]["names"]]
    assert names == [f"A: {pipeline} | {run_a['pipeline_run_id']}", f"B: {pipeline} | {run_b['pipeline_run_id']}"]
    opened.screenshot("filtered")
    assert not opened.errors, opened.errors


def test_names_like_html_are_shown_as_text(chromium: Any, built: Path, tmp_path: Path) -> None:
    copy, pipeline, model = nasty_copy(built, tmp_path / "nasty")
    make_report(copy, tmp_path / "out")
    nasty = Opened(chromium, tmp_path / "out" / "report.html")
    nasty.screenshot("escaped", full_page=False)
    assert not nasty.errors and not nasty.dialogs, (nasty.errors, nasty.dialogs)
    page = nasty.page
    assert page.evaluate("document.querySelectorAll('img, b').length") == 0, "markup from the data reached the page"
    labels = page.evaluate("() => Array.from(document.querySelectorAll('#filter-pipelines .name')).map(n => n.textContent)")
    assert pipeline in labels
    cells = page.evaluate("() => Array.from(document.querySelectorAll('td')).map(td => td.textContent)")
    assert pipeline in cells and model in cells
    svg_text = page.evaluate("() => Array.from(document.querySelectorAll('.chart svg text')).map(t => t.textContent).join('\\n')")
    assert "<img src=x" in svg_text, "Plotly shows the name's characters, not markup"
