"""`python -m pipeline_costs redash sync` against an in-memory Redash (tests/fake_redash.py).

What is checked comes from the spec itself (dashboards/pipeline_costs.yml through dashboards.py)
and from the fake's own record of what was sent, never from the sync's printed plan.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from fake_redash import FakeRedash
from pipeline_costs import dashboards as dash
from pipeline_costs.cli import main
from pipeline_costs.redash import covers, layout, merged, output_columns
from pipeline_costs.redash_client import RedashClient, RedashError

REPO = Path(__file__).resolve().parents[1]
KEY = "rk-7Q2vX9-do-not-leak-5c1e"  # distinctive, so any leak is found by a plain search
SPEC = dash.load_spec()
TAG = SPEC.tag


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """A dbt manifest with a relation for every mart the spec reads (what `dbt parse` writes)."""
    nodes = {
        f"model.dbt_pipeline_costs.{name}": {
            "resource_type": "model", "package_name": "dbt_pipeline_costs", "name": name,
            "relation_name": f'"analytics"."pipeline_costs"."{name}"',
        }
        for name in dash.all_marts(SPEC)
    }
    nodes["model.my_project.orders"] = {"resource_type": "model", "package_name": "my_project", "name": "orders",
                                        "relation_name": '"analytics"."main"."orders"'}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"nodes": nodes}), encoding="utf-8")
    return path


@pytest.fixture
def redash():
    with FakeRedash(KEY) as fake:
        yield fake


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDASH_API_KEY", KEY)
    monkeypatch.delenv("REDASH_URL", raising=False)


def sync(fake: FakeRedash, capsys: pytest.CaptureFixture, *extra: str, manifest: Path | None = None,
         url: str | None = None) -> tuple[int, str, str]:
    where = ["--manifest", str(manifest)] if manifest else ["--schema", "analytics.pipeline_costs"]
    argv = ["redash", "sync", "--url", url or fake.url, "--data-source", "Warehouse", *where, "--retry-delay", "0",
            *extra]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def by_name(fake: FakeRedash) -> dict[str, dict]:
    return {q["name"]: q for q in fake.queries.values() if TAG in q["tags"] and not q["is_archived"]}


def visualizations(fake: FakeRedash, query_id: int) -> dict[str, dict]:
    return {v["name"]: v for v in fake.visualizations.values() if v["query_id"] == query_id}


def widgets(fake: FakeRedash, dashboard_id: int) -> list[dict]:
    return sorted((w for w in fake.widgets.values() if w["dashboard_id"] == dashboard_id), key=lambda w: w["id"])


def spec_with(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    text = dash.SPEC_PATH.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "spec.yml"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# A full sync


def test_full_sync_creates_every_object(redash: FakeRedash, manifest: Path, capsys) -> None:
    code, out, err = sync(redash, capsys, manifest=manifest)
    assert (code, err) == (0, "")
    relations = dash.relations_from_manifest(manifest)
    queries = by_name(redash)
    assert set(queries) == {q.name for q in SPEC.queries.values()}
    for query in SPEC.queries.values():
        created = queries[query.name]
        assert created["is_draft"] is False and created["data_source_id"] == 1
        assert created["query"] == dash.redash_sql(SPEC, query, relations)
        assert "mart." not in created["query"]
        for mart in query.marts:
            assert f'"analytics"."pipeline_costs"."{mart}"' in created["query"]
        # Redash's own parameter syntax reaches Redash untouched.
        for name in query.parameters:
            assert f"{{{{ {name}" in created["query"]
        vizzes = visualizations(redash, created["id"])
        assert set(vizzes) == {"Table"} | {v.name for v in query.visualizations}  # Redash's own "Table" stays
        for viz in query.visualizations:
            expected = {"table": "TABLE", "counter": "COUNTER"}.get(viz.type, "CHART")
            assert vizzes[viz.name]["type"] == expected
        parameters = {p["name"]: p for p in created["options"]["parameters"]}
        assert list(parameters) == list(query.parameters)
        for name, param in parameters.items():
            spec_param = SPEC.parameters[name]
            assert param["type"] == spec_param.type
            if spec_param.source:  # wired to the synced source query's id
                assert param["queryId"] == queries[SPEC.queries[spec_param.source].name]["id"]
            if spec_param.multi:
                assert param["multiValuesOptions"] == {"prefix": "'", "suffix": "'", "separator": ","}
                assert param["value"] == spec_param.default
    sent = {e.body["name"]: e.body["query"] for e in redash.log if e.method == "POST" and e.path == "/api/queries"}
    assert sent == {q.name: dash.redash_sql(SPEC, q, relations) for q in SPEC.queries.values()}
    sources = {SPEC.parameters[p].source for p in SPEC.parameters} - {None}
    assert sorted(redash.refreshed) == sorted(queries[SPEC.queries[s].name]["id"] for s in sources)
    # The sources are created first: the other queries' parameters point at them.
    creates = [e.body["name"] for e in redash.log if e.method == "POST" and e.path == "/api/queries"]
    assert set(creates[:len(sources)]) == {SPEC.queries[s].name for s in sources}

    boards = {d["name"]: d for d in redash.dashboards.values()}
    assert set(boards) == {d.name for d in SPEC.dashboards.values()}
    viz_id = {f"{q.id}.{v.id}": visualizations(redash, queries[q.name]["id"])[v.name]["id"]
              for q in SPEC.queries.values() for v in q.visualizations}
    for board in SPEC.dashboards.values():
        made = boards[board.name]
        assert made["is_draft"] is False and TAG in made["tags"]
        placed = widgets(redash, made["id"])
        assert [w["visualization_id"] for w in placed] == [viz_id.get(w.visualization) for w in board.widgets]
        assert [w["text"] for w in placed] == [w.text or "" for w in board.widgets]
        cells: set[tuple[int, int]] = set()
        for spec_widget, widget in zip(board.widgets, placed, strict=True):
            position = widget["options"]["position"]
            assert position["sizeX"] == 3 * spec_widget.width  # Redash 10: 6-column grid
            area = {(position["row"] + r, position["col"] + c)
                    for r in range(position["sizeY"]) for c in range(position["sizeX"])}
            assert not area & cells and position["col"] + position["sizeX"] <= 6
            cells |= area
            if spec_widget.visualization:
                query = SPEC.queries[spec_widget.visualization.partition(".")[0]]
                mappings = widget["options"]["parameterMappings"]
                assert set(mappings) == set(query.parameters)
                assert all(m["type"] == "dashboard-level" and m["mapTo"] == n for n, m in mappings.items())
    for query in SPEC.queries.values():
        assert query.name in out


def test_second_run_changes_nothing(redash: FakeRedash, capsys) -> None:
    assert sync(redash, capsys)[0] == 0
    writes = len(redash.writes())
    code, out, _ = sync(redash, capsys)
    assert code == 0
    assert len(redash.writes()) == writes
    assert "nothing to change" in out
    assert len(redash.queries) == len(SPEC.queries) and len(redash.dashboards) == len(SPEC.dashboards)


def test_spec_change_updates_only_that_object(redash: FakeRedash, tmp_path: Path, capsys) -> None:
    assert sync(redash, capsys)[0] == 0
    spec = spec_with(tmp_path, ("with the explanation.", "with the reason."),
                     ("label: Total cost of the last run", "label: Cost of the latest run"))
    before = len(redash.writes())
    code, out, _ = sync(redash, capsys, "--spec", str(spec))
    assert code == 0
    anomalies = by_name(redash)[SPEC.queries["anomalies"].name]
    counter = visualizations(redash, by_name(redash)[SPEC.queries["pipeline_runs"].name]["id"])["Last run cost"]
    paths = [e.path for e in redash.writes()[before:]]
    assert sorted(paths) == sorted([f"/api/queries/{anomalies['id']}", f"/api/visualizations/{counter['id']}"])
    assert anomalies["description"].endswith("with the reason.")
    assert counter["options"]["counterLabel"] == "Cost of the latest run"
    assert "2 updated" in out


def test_sql_edited_in_redash_is_set_back_and_user_options_are_kept(redash: FakeRedash, capsys) -> None:
    assert sync(redash, capsys)[0] == 0
    query = SPEC.queries["model_runs"]
    stored = by_name(redash)[query.name]
    stored["query"] = "select 42 as edited_by_hand"
    chart = visualizations(redash, stored["id"])["Cost per run by model"]
    chart["options"]["legend"]["placement"] = "below"  # set in Redash's editor: not the spec's business
    chart["options"]["seriesOptions"] = {"dim_customers": {"color": "#ff0000"}}
    before = len(redash.writes())
    code, out, _ = sync(redash, capsys)
    assert code == 0
    assert [(e.path, set(e.body)) for e in redash.writes()[before:]] == [(f"/api/queries/{stored['id']}", {"query"})]
    assert stored["query"] == dash.redash_sql(SPEC, query, dash.relations_in_schema("analytics.pipeline_costs",
                                                                                   dash.all_marts(SPEC)))
    assert f"update     query         {query.name}  (SQL differs from the spec" in out
    # A value the spec sets is put back, the user's own additions stay.
    chart["options"]["globalSeriesType"] = "pie"
    before = len(redash.writes())
    assert sync(redash, capsys)[0] == 0
    assert [e.path for e in redash.writes()[before:]] == [f"/api/visualizations/{chart['id']}"]
    assert chart["options"]["globalSeriesType"] == "column"
    assert chart["options"]["legend"]["placement"] == "below"
    assert chart["options"]["seriesOptions"] == {"dim_customers": {"color": "#ff0000"}}


def test_existing_dashboard_is_added_to_and_user_widgets_stay(redash: FakeRedash, capsys) -> None:
    board = SPEC.dashboards["overview"]
    mine = redash.add_query("My own query", sql="select 1 as x")
    my_viz = next(v for v in redash.visualizations.values() if v["query_id"] == mine["id"])
    existing = redash.add_dashboard(board.name, tags=("finance",))
    note = redash.add_widget(existing["id"], text="Read me first",
                             options={"position": {"col": 0, "row": 0, "sizeX": 6, "sizeY": 3}})
    chart = redash.add_widget(existing["id"], visualization_id=my_viz["id"],
                              options={"position": {"col": 0, "row": 3, "sizeX": 3, "sizeY": 8}})
    kept = json.loads(json.dumps([note, chart]))
    assert sync(redash, capsys)[0] == 0
    assert [d["id"] for d in redash.dashboards.values() if d["name"] == board.name] == [existing["id"]]
    assert existing["tags"] == ["finance", TAG] and existing["is_draft"] is False
    placed = widgets(redash, existing["id"])
    assert placed[:2] == kept
    assert len(placed) == 2 + len(board.widgets)
    assert all(w["options"]["position"]["row"] >= 11 for w in placed[2:])  # below the user's widgets

    # A hand-added widget showing one of ours is adopted, not duplicated.
    trends = next(d for d in redash.dashboards.values() if d["name"] == SPEC.dashboards["trends"].name)
    ours = widgets(redash, trends["id"])[0]
    del redash.widgets[ours["id"]]
    by_hand = redash.add_widget(trends["id"], visualization_id=ours["visualization_id"],
                                options={"position": {"col": 0, "row": 30, "sizeX": 6, "sizeY": 8}})
    before = len(redash.writes())
    assert sync(redash, capsys)[0] == 0
    assert [e.path for e in redash.writes()[before:]] == [f"/api/widgets/{by_hand['id']}"]
    assert len(widgets(redash, trends["id"])) == len(SPEC.dashboards["trends"].widgets)
    assert by_hand["options"]["position"]["row"] == 30  # where the user put it


def test_pagination_and_objects_that_are_not_ours(capsys) -> None:
    with FakeRedash(KEY, page_size_max=2) as redash:
        first = SPEC.queries["pipeline_options"].name
        others = [redash.add_query(f"Finance report {i}", user=redash.other_user) for i in range(7)]
        others.append(redash.add_query(first, sql="select 'archived'", tags=(TAG,), archived=True))
        others.append(redash.add_query(first, sql="select 'someone else'", user=redash.other_user))
        for i in range(5):
            redash.add_dashboard(f"Team board {i}", user=redash.other_user)
        untouched = json.loads(json.dumps(others))
        assert sync(redash, capsys)[0] == 0
        assert json.loads(json.dumps(others)) == untouched
        written = {e.path for e in redash.writes()}
        assert not {f"/api/queries/{q['id']}" for q in others} & written
        assert len(by_name(redash)) == len(SPEC.queries)
        writes, start = len(redash.writes()), len(redash.log)
        code, out, _ = sync(redash, capsys)
        assert code == 0 and len(redash.writes()) == writes and "nothing to change" in out
        for path in ("/api/queries", "/api/dashboards"):  # every page was read, or objects would be re-created
            pages = {int(e.query["page"][0]) for e in redash.log[start:] if e.path == path and e.method == "GET"}
            assert pages == set(range(1, max(pages) + 1)) and max(pages) > 1


def test_tagged_query_missing_from_spec_is_kept(redash: FakeRedash, capsys) -> None:
    old = redash.add_query("Pipeline costs: a query an older spec had", tags=(TAG,))
    code, out, _ = sync(redash, capsys)
    assert code == 0 and not redash.queries[old["id"]]["is_archived"]
    assert f"kept       query         {old['name']}" in out


# ---------------------------------------------------------------------------------------------
# Errors


def test_server_errors_are_retried_without_duplicates(redash: FakeRedash, capsys) -> None:
    redash.fail("POST", "/api/visualizations", times=2)
    redash.fail("POST", "/api/queries", times=1, after=True)  # created, then the answer is lost
    redash.fail("POST", "/api/dashboards", times=1, after=True)
    redash.fail("POST", "/api/widgets", times=1, after=True)
    redash.fail("GET", "/api/data_sources", status=503, times=2)
    code, _, err = sync(redash, capsys, "--retries", "2")
    assert (code, err) == (0, "")
    assert sum(e.status >= 500 for e in redash.log) == 7
    assert len(redash.queries) == len(SPEC.queries)
    assert len(redash.dashboards) == len(SPEC.dashboards)
    assert len(redash.widgets) == sum(len(d.widgets) for d in SPEC.dashboards.values())
    assert len(redash.visualizations) == len(SPEC.queries) + sum(len(q.visualizations) for q in SPEC.queries.values())


def test_server_error_that_persists_is_one_clear_line(redash: FakeRedash, capsys) -> None:
    redash.fail("GET", "/api/data_sources", times=None)
    code, out, err = sync(redash, capsys, "--retries", "2")
    assert code == 1 and out == ""
    assert err == (f"error: GET /api/data_sources for the list of data sources failed 3 times at {redash.url} "
                   "(HTTP 500); giving up\n")
    assert sum(e.path == "/api/data_sources" for e in redash.log) == 3
    assert not redash.writes()


def test_connection_refused_is_retried_then_reported(capsys) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["redash", "sync", "--url", f"http://127.0.0.1:{port}", "--data-source", "Warehouse",
                 "--schema", "s", "--retries", "1", "--retry-delay", "0"])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "failed 2 times" in err and "cannot connect" in err and "Traceback" not in err


@pytest.mark.parametrize("status", [401, 404])
def test_rejected_api_key(status: int, capsys) -> None:
    with FakeRedash("the-right-key", auth_status=status) as redash:
        code, out, err = sync(redash, capsys)
        assert code == 2 and out == ""
        assert err == f"error: Redash rejected the API key (HTTP {status}) at {redash.url}\n"
        assert not redash.writes()


def test_missing_api_key_or_url(redash: FakeRedash, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("REDASH_API_KEY")
    code, out, err = sync(redash, capsys)
    assert code == 2 and out == "" and err.startswith("error: no Redash API key: set REDASH_API_KEY") and err.count("\n") == 1
    assert redash.log == []
    monkeypatch.setenv("REDASH_API_KEY", KEY)
    assert main(["redash", "sync", "--data-source", "x", "--schema", "s"]) == 2
    assert capsys.readouterr().err == "error: no Redash address: pass --url or set REDASH_URL\n"
    monkeypatch.setenv("REDASH_URL", redash.url)
    assert main(["redash", "sync", "--data-source", "Warehouse", "--schema", "s", "--dry-run"]) == 0


def test_unknown_data_source_lists_the_available_ones(redash: FakeRedash, capsys) -> None:
    code = main(["redash", "sync", "--url", redash.url, "--data-source", "Snowflake", "--schema", "s"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err == (f"error: data source 'Snowflake' not found in Redash at {redash.url}; "
                   "available: Warehouse (id 1), Sandbox (id 2)\n")
    assert main(["redash", "sync", "--url", redash.url, "--data-source", "2", "--schema", "s"]) == 0
    assert {q["data_source_id"] for q in redash.queries.values()} == {2}


def test_not_found_names_the_object(redash: FakeRedash, capsys) -> None:
    assert sync(redash, capsys)[0] == 0
    redash.fail("GET", r"/api/queries/\d+", status=404)
    code, out, err = sync(redash, capsys)
    first = by_name(redash)[SPEC.queries["pipeline_options"].name]
    assert code == 1 and out == ""
    assert err.startswith(f"error: Redash has no query '{first['name']}' (id {first['id']}) (HTTP 404 at "
                          f"GET /api/queries/{first['id']} on {redash.url})")
    assert err.count("\n") == 1


def test_bad_input_is_one_line(redash: FakeRedash, tmp_path: Path, capsys) -> None:
    code, _, err = sync(redash, capsys, "--spec", str(tmp_path / "missing.yml"))
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    code, _, err = sync(redash, capsys, manifest=tmp_path / "none.json")
    assert code == 2 and "cannot read dbt's manifest" in err
    code, _, err = sync(redash, capsys, url="ftp://example.com")
    assert code == 2 and "must be Redash's http:// or https:// address" in err
    assert not redash.writes()


# ---------------------------------------------------------------------------------------------
# Dry run, subsets, versions


def test_dry_run_prints_every_object_and_writes_nothing(redash: FakeRedash, tmp_path: Path, capsys) -> None:
    code, out, _ = sync(redash, capsys, "--dry-run")
    assert code == 0 and not redash.writes()
    for query in SPEC.queries.values():
        assert f"create     query         {query.name}" in out
        for viz in query.visualizations:
            assert f"create     visualization {query.name} / {viz.name}\n" in out
    for board in SPEC.dashboards.values():
        assert f"create     dashboard     {board.name}\n" in out
        for widget in board.widgets:
            name = SPEC.visualization(widget.visualization).name if widget.visualization else "text: "
            assert f"create     widget        {board.name} / {name}" in out
    assert "Dry run, nothing written" in out

    assert sync(redash, capsys)[0] == 0
    writes = len(redash.writes())
    spec = spec_with(tmp_path, ("title: Queries per run and day", "title: Queries per run and day (top N)"))
    code, out, _ = sync(redash, capsys, "--dry-run", "--spec", str(spec))
    assert code == 0 and len(redash.writes()) == writes
    plan = [line.split()[:2] for line in out.splitlines() if line.split()[:1] in (["update"], ["unchanged"])]
    assert plan.count(["update", "query"]) == 1
    assert f"update     query         {SPEC.queries['queries'].name}  (parameters)" in out
    assert len(plan) == 82


def test_dashboards_subset_syncs_what_they_need(redash: FakeRedash, capsys) -> None:
    code, out, _ = sync(redash, capsys, "--dashboards", "queries")
    board = SPEC.dashboards["queries"]
    objects = [*SPEC.dashboard_queries(board), *(SPEC.queries[s] for s in ("pipeline_options", "run_options"))]
    created = len(objects) + sum(len(q.visualizations) for q in objects) + 1 + len(board.widgets)
    assert code == 0 and f": {created} created, 0 updated, 0 unchanged." in out
    needed = {SPEC.queries[q].name for q in ("queries", "pipeline_options", "run_options")}
    assert set(by_name(redash)) == needed
    assert [d["name"] for d in redash.dashboards.values()] == [SPEC.dashboards["queries"].name]
    code, _, err = sync(redash, capsys, "--dashboards", "overview,nope")
    assert code == 2 and "unknown dashboard id(s) nope" in err and "overview" in err


def test_redash_before_v10_finds_dashboards_by_slug(capsys) -> None:
    with FakeRedash(KEY, version="9.0.0-beta", dashboard_lookup="slug") as redash:
        assert sync(redash, capsys)[0] == 0
        writes = len(redash.writes())
        code, out, _ = sync(redash, capsys)
        assert code == 0 and len(redash.writes()) == writes
        assert "/dashboard/pipeline-costs-overview" in out


def test_redash_25_8_grid_has_12_columns(capsys) -> None:
    with FakeRedash(KEY, version="25.8.0") as redash:
        assert sync(redash, capsys, "--dashboards", "overview")[0] == 0
        widths = [w["options"]["position"]["sizeX"] for w in redash.widgets.values()]
        assert widths == [6 * w.width for w in SPEC.dashboards["overview"].widgets]
    with FakeRedash(KEY, version="25.8.0") as redash:
        assert sync(redash, capsys, "--dashboards", "overview", "--grid-columns", "6")[0] == 0
        widths = [w["options"]["position"]["sizeX"] for w in redash.widgets.values()]
        assert widths == [3 * w.width for w in SPEC.dashboards["overview"].widgets]


# ---------------------------------------------------------------------------------------------
# The API key never leaves the environment


def test_api_key_never_appears_in_output_or_files(tmp_path: Path, manifest: Path, capsys) -> None:
    seen: list[str] = []

    def run(fake: FakeRedash, *extra: str) -> int:
        code, out, err = sync(fake, capsys, *extra, manifest=manifest)
        seen.extend([out, err])
        return code

    with FakeRedash(KEY) as redash:
        assert run(redash) == 0 and run(redash) == 0 and run(redash, "--dry-run") == 0
        redash.fail("GET", r"/api/queries/\d+", status=404)
        assert run(redash) == 1
        redash.fail("GET", "/api/session", times=None)
        assert run(redash, "--retries", "1") == 1
        assert run(redash, "--data-source", "nope") in (1, 2)
        for entry in redash.log:
            assert KEY not in json.dumps([entry.path, entry.query, entry.body])
    for status in (401, 404):
        with FakeRedash("another-key", auth_status=status) as redash:
            assert run(redash) == 2
    with pytest.raises(RedashError) as failure:
        client = RedashClient("http://127.0.0.1:9", KEY, retries=0, timeout=2)
        assert KEY not in repr(client)
        client.get("/api/session", what="the session")
    seen.append(repr(failure.value) + str(failure.value.args))

    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts"), "REDASH_API_KEY": KEY}
    with FakeRedash(KEY) as ok, FakeRedash("another-key") as refusing:
        runs = [(subprocess.Popen(
            [sys.executable, "-m", "pipeline_costs", "redash", "sync", "--url", fake.url, "--data-source",
             "Warehouse", "--manifest", str(manifest), "--retry-delay", "0"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), expected)
            for fake, expected in ((ok, 0), (refusing, 2))]  # side by side: each start costs ~2 s of imports
        for process, expected in runs:
            out, err = process.communicate(timeout=60)
            assert process.returncode == expected, err
            seen.extend([out, err])
        assert ok.writes() and not refusing.writes()
    assert "Traceback" not in "".join(seen)
    assert all(KEY not in text for text in seen)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


# ---------------------------------------------------------------------------------------------
# The spec as Redash objects


@pytest.mark.parametrize("query", list(SPEC.queries.values()), ids=lambda q: q.id)
def test_output_columns_agree_with_sqlglot_and_the_visualizations(query: dash.Query) -> None:
    relations = dash.relations_in_schema("analytics.pipeline_costs", dash.all_marts(SPEC))
    values = dash.report_values(SPEC, dash.dt.date(2026, 1, 1), dash.dt.date(2026, 1, 31))
    rendered = dash.render_sql(SPEC, query, relations, values, "duckdb")
    columns = output_columns(dash.redash_sql(SPEC, query, relations))
    assert columns == sqlglot.parse_one(rendered, read="duckdb").named_selects
    for viz in query.visualizations:
        used = {viz.x, viz.series, viz.value, viz.target, *viz.y, *(c.name for c in viz.columns),
                *(c.link for c in viz.columns)} - {None}
        assert used <= set(columns), (viz.key, used - set(columns))
        if viz.type == "counter" and viz.sort:
            # Redash's counter shows the first row: the SQL must order as the spec's sort says.
            order = sqlglot.parse_one(rendered, read="duckdb").args["order"].expressions[0]
            assert (order.this.name, bool(order.args.get("desc"))) == (viz.sort.lstrip("-"), viz.sort.startswith("-"))


def test_output_columns_edge_cases() -> None:
    assert output_columns("select a.b, c as \"D e\", 'x, y' as s, f(g, h) as i from t") == ["b", "D e", "s", "i"]
    assert output_columns("-- select nothing\nselect distinct x /* , y */ from (select 1 as z) as t") == ["x"]
    assert output_columns("select t.* from t") is None
    assert output_columns("select count(*) from t") is None
    assert output_columns("select 1 as one") == ["one"]


def test_covers_and_merged() -> None:
    desired = {"a": 1, "cols": [{"name": "x", "visible": True}], "axis": [{"type": "linear"}], "flag": False}
    current = {"a": 1.0, "user": "kept", "cols": [{"name": "y"}, {"name": "x", "visible": True, "w": 3}],
               "axis": [{"type": "linear", "title": "t"}], "flag": False}
    assert covers(current, desired)
    assert not covers({**current, "flag": 0}, desired)
    assert not covers({**current, "axis": []}, desired)
    changed = merged({**current, "cols": [{"name": "x", "visible": False, "w": 3}]}, desired)
    assert changed["cols"] == [{"name": "x", "visible": True, "w": 3}] and changed["user"] == "kept"
    assert covers(changed, desired)


def test_layout_packs_halves_side_by_side() -> None:
    assert layout([(1, "counter"), (1, "counter"), (1, "counter"), (2, "table"), (1, "chart")], 4, 6) == [
        {"col": 0, "row": 4, "sizeX": 3, "sizeY": 5},
        {"col": 3, "row": 4, "sizeX": 3, "sizeY": 5},
        {"col": 0, "row": 9, "sizeX": 3, "sizeY": 5},
        {"col": 0, "row": 14, "sizeX": 6, "sizeY": 10},
        {"col": 0, "row": 24, "sizeX": 3, "sizeY": 8},
    ]
