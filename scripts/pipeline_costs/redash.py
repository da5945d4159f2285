"""`redash sync`: the dashboards of dashboards/pipeline_costs.yml, created or updated in Redash.

Order: the dropdown source queries first (the other queries' parameters point at their ids), then
every query with its visualizations, then each dashboard with its widgets, then the dashboard is
tagged and published. Each object is compared with what Redash has and written only where it
differs, so a second run sends no write at all; nothing is ever deleted or archived.

Matching: a query is ours when it carries the spec's tag and has the spec's name (a same-named
query without the tag is someone else's and is left alone); a visualization by name within its
query; a dashboard by name (one with the tag first; an untagged one of that name is adopted, so
a dashboard is never duplicated); a widget by the key sync stores in its options (`sync_key`),
or, for a visualization widget added by hand, by its visualization. Widgets without either are
the users' and are never touched. Where Redash has more options than the spec sets (someone
edited a chart in the editor), only the values the spec sets are compared and written back.

Redash versions (read from its handlers and front end):
* GET /api/dashboards/<id> takes the numeric id from v10; before v10 it took the slug (POST always
  took the id), so a 404 by id is retried by slug.
* The dashboard grid has 6 columns up to v25.1 and 12 from v25.8 (widget positions were doubled by
  a migration); `--grid-columns auto` reads the version from /api/session.
* A new query or dashboard is a draft (POST /api/queries forces is_draft), published by a second POST.
* Redash answers an unknown API key with 404 "Couldn't find resource. Please login and try again."
  rather than 401; both are reported as a rejected key.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline_costs import dashboards as dash
from pipeline_costs.redash_client import NotFoundError, RedashClient, RedashError

API_KEY_ENV = "REDASH_API_KEY"
URL_ENV = "REDASH_URL"
SYNC_KEY = "sync_key"  # widget option marking the widgets sync manages: "<tag>:<widget key>"

CHART_TYPES = {"line": "line", "column": "column", "area": "area", "scatter": "scatter", "heatmap": "heatmap",
               "box": "box"}
ROWS = {"counter": 5, "table": 10, "text": 3}  # widget heights in grid rows; charts 8
CHART_ROWS = 8


class SyncError(RedashError):
    """Bad input to the sync (data source, dashboard ids, URL, key); exit 2."""

    exit_code = 2


# ---------------------------------------------------------------------------------------------
# CLI


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("redash", help="create or update the package's dashboards in Redash")
    commands = parser.add_subparsers(dest="redash_command", required=True, metavar="ACTION")
    sync = commands.add_parser(
        "sync", help="create or update queries, visualizations, dashboards and widgets (idempotent)",
        description=f"Create or update the dashboards of the spec in Redash. The API key is read from "
                    f"${API_KEY_ENV} only.",
    )
    sync.add_argument("--url", help=f"Redash address (with the org slug on a multi-org install); default ${URL_ENV}")
    sync.add_argument("--data-source", required=True, metavar="NAME_OR_ID",
                      help="Redash data source the queries run on (its name or id)")
    where = sync.add_mutually_exclusive_group(required=True)
    where.add_argument("--manifest", type=Path, metavar="PATH",
                       help="dbt's target/manifest.json: the marts' relations as dbt renders them")
    where.add_argument("--schema", help="schema holding the marts ('dataset', 'project.dataset', 'catalog.schema')")
    sync.add_argument("--dashboards", metavar="ID,ID",
                      help="comma-separated spec ids of the dashboards to sync (default: all)")
    sync.add_argument("--dry-run", action="store_true", help="read only: print what would be created or updated")
    sync.add_argument("--spec", type=Path, default=dash.SPEC_PATH, metavar="PATH",
                      help="dashboards spec (default: dashboards/pipeline_costs.yml)")
    sync.add_argument("--retries", type=int, default=3, metavar="N",
                      help="retries of a request after a 5xx or connection error (default: 3)")
    sync.add_argument("--timeout", type=float, default=30.0, metavar="S",
                      help="seconds to wait for each response (default: 30)")
    sync.add_argument("--retry-delay", type=float, default=1.0, metavar="S",
                      help="seconds before the first retry, doubled for each next one (default: 1)")
    sync.add_argument("--grid-columns", choices=("auto", "6", "12"), default="auto",
                      help="columns of Redash's dashboard grid (auto: 12 from Redash 25.8, else 6)")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        return _sync(args)
    except dash.SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RedashError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (KeyError, TypeError, AttributeError) as exc:  # a JSON answer without the fields Redash's have
        print(f"error: Redash answered in a shape this sync does not know ({type(exc).__name__}: {exc})",
              file=sys.stderr)
        return 1


def _sync(args: argparse.Namespace) -> int:
    if args.retries < 0 or args.timeout <= 0 or args.retry_delay < 0:
        raise SyncError("--retries and --retry-delay must be >= 0 and --timeout > 0")
    spec = dash.load_spec(args.spec)
    selected = _selected_dashboards(spec, args.dashboards)
    relations = (dash.relations_from_manifest(args.manifest) if args.manifest
                 else dash.relations_in_schema(args.schema, dash.all_marts(spec)))
    url = (args.url or os.environ.get(URL_ENV) or "").strip()
    if not url:
        raise SyncError(f"no Redash address: pass --url or set {URL_ENV}")
    if not re.match(r"https?://[^/\s?#]+[^\s?#]*$", url):
        raise SyncError(f"--url / {URL_ENV} must be Redash's http:// or https:// address, without a query string")
    api_key = os.environ.get(API_KEY_ENV, "").strip()
    if not api_key:
        raise SyncError(f"no Redash API key: set {API_KEY_ENV} (a user API key, from the user's profile page)")
    client = RedashClient(url, api_key, retries=args.retries, timeout=args.timeout, retry_delay=args.retry_delay)
    sync = Sync(spec, client, relations, selected, data_source=args.data_source, dry_run=args.dry_run,
                grid_columns=args.grid_columns, out=print)
    sync.run()
    return 0


def _selected_dashboards(spec: dash.Spec, value: str | None) -> list[dash.Dashboard]:
    if not value:
        return list(spec.dashboards.values())
    ids = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [i for i in ids if i not in spec.dashboards]
    if unknown or not ids:
        raise SyncError(f"--dashboards: unknown dashboard id(s) {', '.join(unknown) or '(none given)'}; "
                        f"the spec has {', '.join(spec.dashboards)}")
    return [spec.dashboards[i] for i in dict.fromkeys(ids)]


# ---------------------------------------------------------------------------------------------
# The spec as Redash objects


def query_parameter(param: dash.Parameter, source_id: Any) -> dict[str, Any]:
    """One entry of a query's options.parameters, as Redash's parameter editor saves it."""
    body: dict[str, Any] = {"name": param.name, "title": param.title, "type": param.type, "global": False}
    if param.type == "query":
        body["queryId"] = source_id
    if param.type == "enum":
        body["enumOptions"] = "\n".join(param.options)
    if param.type in ("query", "enum") and param.multi:
        # Redash joins the chosen values as 'a','b' (the SQL writes the list unquoted).
        body["multiValuesOptions"] = {"prefix": "'", "suffix": "'", "separator": ","}
    value = param.default
    if param.multi and value is not None and not isinstance(value, list):
        value = [value]
    body["value"] = value
    return body


def parameter_mappings(query: dash.Query) -> dict[str, Any]:
    """Every parameter of the widget's query mapped to the dashboard-level parameter of the same name."""
    return {name: {"name": name, "type": "dashboard-level", "mapTo": name, "value": None, "title": ""}
            for name in query.parameters}


def _number_format(column: str, fmt: str | None) -> dict[str, Any]:
    # The spec's formats: pct holds a percent (12.5), ratio a fraction (0.125) that numeral.js's % scales.
    formats = {"money": "0,0.00", "number": "0,0.[00]", "bytes": "0.0 b", "pct": "0,0.0", "ratio": "0.0%"}
    return {"displayAs": "number", "numberFormat": formats[fmt], "alignContent": "right"} if fmt in formats else {}


def table_options(viz: dash.Visualization, output: list[str] | None) -> dict[str, Any]:
    """TABLE: the spec's columns in order, titled and formatted; link columns show the value and link to
    the URL column of the row; the query's other columns are hidden."""
    columns = []
    for order, col in enumerate(viz.columns):
        entry: dict[str, Any] = {"name": col.name, "title": col.title, "visible": True, "order": order,
                                 "displayAs": "string", "alignContent": "left", "allowSearch": False}
        entry.update(_number_format(col.name, col.format))
        if col.format in ("datetime", "date"):
            entry.update(displayAs="datetime", alignContent="right",
                         dateTimeFormat="YYYY-MM-DD HH:mm" if col.format == "datetime" else "YYYY-MM-DD")
        if col.link:
            entry.update(displayAs="link", linkUrlTemplate=f"{{{{ {col.link} }}}}", linkTextTemplate="{{ @ }}",
                         linkTitleTemplate="{{ @ }}", linkOpenInNewTab=True)
        columns.append(entry)
    shown = {c.name for c in viz.columns}
    for extra in [c for c in output or () if c not in shown]:
        columns.append({"name": extra, "visible": False, "order": len(columns)})
    return {"itemsPerPage": 25, "columns": columns}


def counter_options(viz: dash.Visualization) -> dict[str, Any]:
    """COUNTER: the value of the first row (the query orders it), compared with `target` if given."""
    options: dict[str, Any] = {"counterColName": viz.value, "rowNumber": 1, "counterLabel": viz.label or viz.name,
                               "stringDecimal": 1 if viz.format == "pct" else 2 if viz.format == "money" else 0,
                               "stringSuffix": "%" if viz.format == "pct" else ""}
    if viz.target:
        options.update(targetColName=viz.target, targetRowNumber=1, formatTargetValue=True)
    return options


def chart_options(viz: dash.Visualization) -> dict[str, Any]:
    """CHART: globalSeriesType, the columns mapped to x / y / series (zVal for a heat map's colour)."""
    kind = CHART_TYPES[viz.type]
    mapping: dict[str, str] = {viz.x: "x"} if viz.x else {}
    if kind == "heatmap":
        mapping.update({viz.y[0]: "y", viz.value: "zVal"})
    else:
        mapping.update({y: "y" for y in viz.y})
        if viz.series:
            mapping[viz.series] = "series"
    options: dict[str, Any] = {
        "globalSeriesType": kind,
        "columnMapping": mapping,
        "sortX": True,
        "legend": {"enabled": kind != "heatmap"},
        "xAxis": {"type": "-", "labels": {"enabled": True}},
        "series": {"stacking": "stack" if viz.stacking else None},
        "missingValuesAsZero": False,  # a forecast line stops where the actuals end, it does not drop to 0
    }
    if kind != "heatmap" and not viz.series:
        options["seriesOptions"] = {y: {"type": viz.series_types.get(y, kind), "yAxis": 0, "zIndex": i, "index": 0}
                                    for i, y in enumerate(viz.y)}
    return options


def visualization_body(viz: dash.Visualization, output: list[str] | None) -> dict[str, Any]:
    if viz.type == "table":
        vtype, options = "TABLE", table_options(viz, output)
    elif viz.type == "counter":
        vtype, options = "COUNTER", counter_options(viz)
    else:
        vtype, options = "CHART", chart_options(viz)
    return {"type": vtype, "name": viz.name, "description": viz.description, "options": options}


def output_columns(sql: str) -> list[str] | None:
    """Names of the columns the statement returns (its first top-level select list); None when a name
    cannot be told without the database (`*`, an expression without an alias)."""
    masked, clean, depth, level, i = list(sql), list(sql), [0] * len(sql), 0, 0  # masked: no strings or comments
    while i < len(sql):
        ch = sql[i]
        if ch in "'\"`":
            j = i + 1
            while j < len(sql) and not (sql[j] == ch and not sql.startswith(ch * 2, j)):
                j += 2 if sql.startswith(ch * 2, j) else 1
            for k in range(i + 1, min(j, len(sql))):
                masked[k], depth[k] = " ", level
            depth[i] = level
            if j < len(sql):
                depth[j] = level
            i = j + 1
            continue
        if sql.startswith("--", i) or sql.startswith("/*", i):
            j = sql.find("\n", i) if ch == "-" else sql.find("*/", i) + 1
            j = len(sql) - 1 if j <= 0 else j
            for k in range(i, j + 1):
                masked[k] = clean[k] = " "
                depth[k] = level
            i = j + 1
            continue
        if ch == ")":
            level -= 1
        depth[i] = level
        if ch == "(":
            level += 1
        i += 1
    text = "".join(masked)
    starts = [m.end() for m in re.finditer(r"\bselect\b", text, re.IGNORECASE) if depth[m.start()] == 0]
    if not starts:
        return None
    start = starts[0]
    ends = [m.start() for m in re.finditer(r"\bfrom\b", text, re.IGNORECASE) if m.start() > start and depth[m.start()] == 0]
    end = ends[0] if ends else len(sql)
    items, item_start, kept = [], start, "".join(clean)
    for k in range(start, end):
        if text[k] == "," and depth[k] == 0:
            items.append(kept[item_start:k])
            item_start = k + 1
    items.append(kept[item_start:end])
    names = []
    for n, item in enumerate(items):
        item = item.strip()
        if n == 0:
            item = re.sub(r"^(distinct|all)\s+", "", item, flags=re.IGNORECASE)
        alias = re.search(r"\bas\s+(\"[^\"]+\"|`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)\s*$", item, re.IGNORECASE)
        bare = re.search(r"(?:^|\.)([A-Za-z_][A-Za-z0-9_]*)$", item)
        if alias:
            names.append(alias.group(1).strip("\"`"))
        elif bare:
            names.append(bare.group(1))
        else:
            return None
    return names


def layout(widgets: list[tuple[int, str]], first_row: int, columns: int) -> list[dict[str, int]]:
    """Grid positions for widgets given as (spec width, kind), packed left to right from first_row:
    width 1 takes half the grid, width 2 all of it."""
    positions, col, row, row_height = [], 0, first_row, 0
    for width, kind in widgets:
        size_x = columns if width == 2 else columns // 2
        size_y = ROWS.get(kind, CHART_ROWS)
        if col + size_x > columns:
            row, col, row_height = row + row_height, 0, 0
        positions.append({"col": col, "row": row, "sizeX": size_x, "sizeY": size_y})
        col, row_height = col + size_x, max(row_height, size_y)
    return positions


# ---------------------------------------------------------------------------------------------
# Comparing desired with current


def _named(items: list) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def covers(current: Any, desired: Any) -> bool:
    """True when `current` already holds every value `desired` sets (its extra keys are left alone).
    Lists of named dicts (table columns, parameters) match item by name."""
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(k in current and covers(current[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        if not isinstance(current, list):
            return False
        if _named(desired):
            by_name = {c["name"]: c for c in current if isinstance(c, dict) and "name" in c}
            return all(d["name"] in by_name and covers(by_name[d["name"]], d) for d in desired)
        return len(current) == len(desired) and all(covers(c, d) for c, d in zip(current, desired, strict=True))
    if isinstance(current, bool) or isinstance(desired, bool):
        return type(current) is type(desired) and current == desired
    return current == desired  # 10 == 10.0: JSON does not tell them apart


def merged(current: Any, desired: Any) -> Any:
    """`current` with every value `desired` sets written over it (the counterpart of covers)."""
    if isinstance(desired, dict) and isinstance(current, dict):
        out = dict(current)
        for key, value in desired.items():
            out[key] = merged(current.get(key), value)
        return out
    if isinstance(desired, list) and isinstance(current, list) and _named(desired):
        by_name = {c["name"]: c for c in current if isinstance(c, dict) and "name" in c}
        names = {d["name"] for d in desired}
        extra = [c for c in current if not (isinstance(c, dict) and c.get("name") in names)]
        return [merged(by_name.get(d["name"]), d) for d in desired] + extra
    return copy.deepcopy(desired)


# ---------------------------------------------------------------------------------------------
# The sync


@dataclass
class Action:
    verb: str  # create | update | unchanged | kept
    kind: str  # query | visualization | dashboard | widget
    name: str
    why: str = ""

    def line(self) -> str:
        return f"{self.verb:<10} {self.kind:<13} {self.name}" + (f"  ({self.why})" if self.why else "")


NEW = "(new)"  # dry run: the id an object not created yet would get


class Sync:
    def __init__(
        self,
        spec: dash.Spec,
        client: RedashClient,
        relations: dict[str, str],
        dashboards: list[dash.Dashboard],
        *,
        data_source: str,
        dry_run: bool = False,
        grid_columns: str = "auto",
        out: Callable[[str], None] = print,
    ) -> None:
        self.spec, self.client, self.relations, self.dashboards = spec, client, relations, dashboards
        self.data_source, self.dry_run, self.grid, self.out = data_source, dry_run, grid_columns, out
        self.actions: list[Action] = []
        self.query_ids: dict[str, Any] = {}
        self.viz_ids: dict[str, Any] = {}
        self.dashboard_urls: list[str] = []
        self.slug_lookup = False  # Redash before v10: GET /api/dashboards/<slug>

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> list[Action]:
        columns = self._grid_columns()
        data_source_id = self._data_source_id()
        ours = [q for q in self.client.paginate("/api/queries", {"tags": self.spec.tag}, what="the list of queries")
                if self.spec.tag in (q.get("tags") or []) and not q.get("is_archived")]
        queries = self._queries()
        for query in queries:
            self._sync_query(query, data_source_id, ours)
        if len(self.dashboards) == len(self.spec.dashboards):
            names = {q.name for q in self.spec.queries.values()}
            for q in sorted(ours, key=lambda q: q["id"]):
                if q.get("name") not in names:
                    self._record("kept", "query", q.get("name", ""), f"id {q['id']}: tagged {self.spec.tag} but "
                                 "not in the spec; left as it is")
        listed = [d for d in self.client.paginate("/api/dashboards", what="the list of dashboards")
                  if not d.get("is_archived")]
        for dashboard in self.dashboards:
            self._sync_dashboard(dashboard, listed, columns)
        self._summary()
        return self.actions

    def _record(self, verb: str, kind: str, name: str, why: str = "") -> None:
        action = Action(verb, kind, name, why)
        self.actions.append(action)
        if verb != "unchanged" or self.dry_run:  # a dry run prints the whole plan, a sync what it changed
            self.out(action.line())

    def _summary(self) -> None:
        count = {verb: sum(a.verb == verb for a in self.actions) for verb in ("create", "update", "unchanged")}
        if not count["create"] and not count["update"]:
            self.out(f"Redash {self.client.url}: nothing to change ({count['unchanged']} objects up to date).")
        elif self.dry_run:
            self.out(f"Dry run, nothing written: {count['create']} to create, {count['update']} to update, "
                     f"{count['unchanged']} unchanged.")
        else:
            self.out(f"Redash {self.client.url}: {count['create']} created, {count['update']} updated, "
                     f"{count['unchanged']} unchanged.")
        for line in self.dashboard_urls:
            self.out(line)

    def _grid_columns(self) -> int:
        try:
            session = self.client.get("/api/session", what="the session (Redash's version)")
        except NotFoundError:
            raise SyncError(f"{self.client.url} does not answer like Redash (GET /api/session: HTTP 404); "
                            f"check --url / {URL_ENV}") from None
        if self.grid != "auto":
            return int(self.grid)
        version = str(((session or {}).get("client_config") or {}).get("version") or "")
        parts = re.match(r"(\d+)\.(\d+)", version)
        return 12 if parts and (int(parts.group(1)), int(parts.group(2))) >= (25, 8) else 6

    def _data_source_id(self) -> int:
        sources = self.client.get("/api/data_sources", what="the list of data sources") or []
        wanted = self.data_source.strip()
        for match in (lambda s: str(s.get("id")) == wanted, lambda s: s.get("name") == wanted,
                      lambda s: str(s.get("name", "")).casefold() == wanted.casefold()):
            found = [s for s in sources if match(s)]
            if len(found) == 1:
                return found[0]["id"]
        names = ", ".join(f"{s.get('name')} (id {s.get('id')})" for s in sources) or "none"
        raise SyncError(f"data source {wanted!r} not found in Redash at {self.client.url}; available: {names}")

    def _queries(self) -> list[dash.Query]:
        """The queries to sync, dropdown sources first."""
        wanted: dict[str, dash.Query] = {}
        for dashboard in self.dashboards:
            for query in self.spec.dashboard_queries(dashboard):
                wanted.setdefault(query.id, query)
        if len(self.dashboards) == len(self.spec.dashboards):
            wanted = dict(self.spec.queries)
        sources = {self.spec.parameters[p].source for q in wanted.values() for p in q.parameters} - {None}
        first = [q for q in self.spec.queries.values() if q.id in sources]
        return first + [q for q in wanted.values() if q.id not in sources]

    # -- queries and visualizations ------------------------------------------------------------

    def _find_query(self, name: str, candidates: list[dict]) -> dict | None:
        found = sorted((q for q in candidates if q.get("name") == name), key=lambda q: q["id"])
        return found[0] if found else None

    def _lookup_query(self, name: str) -> dict | None:
        """After a failed create: the query, if the failed request created it after all."""
        listed = [q for q in self.client.paginate("/api/queries", {"tags": self.spec.tag}, what="the list of queries")
                  if self.spec.tag in (q.get("tags") or []) and not q.get("is_archived")]
        found = self._find_query(name, listed)
        return self.client.get(f"/api/queries/{found['id']}", what=f"query '{name}'") if found else None

    def _sync_query(self, query: dash.Query, data_source_id: int, ours: list[dict]) -> None:
        sql = dash.redash_sql(self.spec, query, self.relations)
        parameters = [query_parameter(self.spec.parameters[p], self.query_ids.get(self.spec.parameters[p].source, NEW)
                                      if self.spec.parameters[p].source else None) for p in query.parameters]
        is_source = any(p.source == query.id for p in self.spec.parameters.values())
        listed = self._find_query(query.name, ours)
        what = f"query '{query.name}'"
        if listed is None:
            self._record("create", "query", query.name, "a dropdown source; run once" if is_source else "")
            if self.dry_run:
                self.query_ids[query.id] = NEW
                for viz in query.visualizations:
                    self._record("create", "visualization", f"{query.name} / {viz.name}")
                return
            body = {"name": query.name, "description": query.description, "query": sql,
                    "data_source_id": data_source_id, "options": {"parameters": parameters}, "tags": [self.spec.tag]}
            current = self.client.post("/api/queries", body, what=f"new {what}",
                                       find=lambda: self._lookup_query(query.name))
            if current.get("is_draft", True):
                self.client.post(f"/api/queries/{current['id']}", {"is_draft": False}, what=what)
            if is_source:
                self._refresh(current["id"], query.name)
        else:
            current = self.client.get(f"/api/queries/{listed['id']}", what=f"{what} (id {listed['id']})")
            changes: dict[str, Any] = {}
            why = []
            if current.get("query") != sql:
                changes["query"] = sql
                why.append("SQL differs from the spec (edited in Redash or changed in the spec): set to the spec's")
            if current.get("description") != query.description:
                changes["description"] = query.description
                why.append("description")
            if current.get("data_source_id") != data_source_id:
                changes["data_source_id"] = data_source_id
                why.append(f"data source {current.get('data_source_id')} -> {data_source_id}")
            options = current.get("options") or {}
            have = options.get("parameters") or []
            if [p.get("name") for p in have] != [p["name"] for p in parameters] or not covers(have, parameters):
                changes["options"] = {**options, "parameters": [
                    merged(next((h for h in have if h.get("name") == p["name"]), None), p) for p in parameters]}
                why.append("parameters")
            if current.get("is_draft"):
                changes["is_draft"] = False
                why.append("publish")
            self._record("update" if changes else "unchanged", "query", query.name, "; ".join(why))
            if changes and not self.dry_run:
                current = self.client.post(f"/api/queries/{current['id']}", changes, what=f"{what} (id {current['id']})")
                if is_source and "query" in changes:
                    self._refresh(current["id"], query.name)
        self.query_ids[query.id] = current["id"]
        self._sync_visualizations(query, sql, current)

    def _refresh(self, query_id: int, name: str) -> None:
        """Run a dropdown source once: Redash fills a dropdown from the source's latest result."""
        try:
            self.client.post(f"/api/queries/{query_id}/refresh", {}, what=f"a run of query '{name}'")
        except RedashError as exc:
            if exc.exit_code == 2:
                raise
            self.out(f"warning: could not run '{name}' ({exc}); run it once in Redash so its dropdown has values")

    def _sync_visualizations(self, query: dash.Query, sql: str, current: dict) -> None:
        existing = sorted(current.get("visualizations") or [], key=lambda v: v["id"])
        output = output_columns(sql)
        claimed: set[int] = set()
        for viz in query.visualizations:
            label = f"{query.name} / {viz.name}"
            body = visualization_body(viz, output)
            have = next((v for v in existing if v.get("name") == viz.name and v["id"] not in claimed), None)
            if have is not None:
                claimed.add(have["id"])
            if have is None:
                self._record("create", "visualization", label)
                if not self.dry_run:
                    def find(name: str = viz.name) -> dict | None:
                        fresh = self.client.get(f"/api/queries/{current['id']}", what=f"query '{query.name}'")
                        return next((v for v in fresh.get("visualizations") or [] if v.get("name") == name), None)
                    have = self.client.post("/api/visualizations", {"query_id": current["id"], **body},
                                            what=f"query '{query.name}' (id {current['id']})", find=find)
                self.viz_ids[viz.key] = have["id"] if have else NEW
                continue
            changes: dict[str, Any] = {}
            why = [k for k in ("type", "description") if have.get(k) != body[k]]
            for key in why:
                changes[key] = body[key]
            if not covers(have.get("options") or {}, body["options"]):
                changes["options"] = merged(have.get("options") or {}, body["options"])
                why.append("options")
            self._record("update" if changes else "unchanged", "visualization", label, ", ".join(why))
            if changes and not self.dry_run:
                self.client.post(f"/api/visualizations/{have['id']}", {"name": viz.name, **changes},
                                 what=f"visualization '{label}' (id {have['id']})")
            self.viz_ids[viz.key] = have["id"]

    # -- dashboards and widgets ----------------------------------------------------------------

    def _get_dashboard(self, listed: dict) -> dict:
        what = f"dashboard '{listed.get('name')}' (id {listed['id']})"
        if not self.slug_lookup:
            try:
                return self.client.get(f"/api/dashboards/{listed['id']}", what=what)
            except NotFoundError:
                if not listed.get("slug"):
                    raise
                self.slug_lookup = True  # Redash before v10 finds a dashboard by its slug
        return self.client.get(f"/api/dashboards/{listed['slug']}", what=what)

    def _sync_dashboard(self, dashboard: dash.Dashboard, listed: list[dict], columns: int) -> None:
        same_name = sorted((d for d in listed if d.get("name") == dashboard.name),
                           key=lambda d: (self.spec.tag not in (d.get("tags") or []), d["id"]))
        tags = [self.spec.tag, *dashboard.tags]
        if not same_name:
            self._record("create", "dashboard", dashboard.name)
            current: dict[str, Any] = {"id": NEW, "widgets": [], "tags": [], "is_draft": True}
            if not self.dry_run:
                def find() -> dict | None:
                    again = [d for d in self.client.paginate("/api/dashboards", {"q": dashboard.name},
                                                             what="the list of dashboards")
                             if d.get("name") == dashboard.name and not d.get("is_archived")]
                    return self._get_dashboard(again[0]) if again else None
                current = self.client.post("/api/dashboards", {"name": dashboard.name},
                                           what=f"new dashboard '{dashboard.name}'", find=find)
        else:
            current = self._get_dashboard(same_name[0])
        publish: dict[str, Any] = {}
        have_tags = list(current.get("tags") or [])
        if any(t not in have_tags for t in tags):
            publish["tags"] = have_tags + [t for t in tags if t not in have_tags]
        if current.get("is_draft"):
            publish["is_draft"] = False
        if same_name:
            why = ", ".join((["tag"] if "tags" in publish else []) + (["publish"] if "is_draft" in publish else []))
            self._record("update" if publish else "unchanged", "dashboard", dashboard.name, why)
        self._sync_widgets(dashboard, current, columns)
        if publish and not self.dry_run:
            self.client.post(f"/api/dashboards/{current['id']}", publish,
                             what=f"dashboard '{dashboard.name}' (id {current['id']})")
        if not self.dry_run:
            path = f"dashboard/{current.get('slug')}" if self.slug_lookup else f"dashboards/{current['id']}"
            self.dashboard_urls.append(f"{dashboard.name}: {self.client.url}/{path}")

    @staticmethod
    def _match_widget(existing: list[dict], claimed: set[int], marker: str, viz_id: Any) -> dict | None:
        """Our widget: a text widget by its marker; a visualization widget showing our visualization,
        marked as ours, else unmarked (added by hand: adopted rather than duplicated)."""
        free = [w for w in existing if w["id"] not in claimed]
        if viz_id is None:
            return next((w for w in free if (w.get("options") or {}).get(SYNC_KEY) == marker), None)
        showing = [w for w in free if (w.get("visualization") or {}).get("id") == viz_id]
        return (next((w for w in showing if (w.get("options") or {}).get(SYNC_KEY) == marker), None)
                or next((w for w in showing if not (w.get("options") or {}).get(SYNC_KEY)), None))

    def _widget_specs(self, dashboard: dash.Dashboard) -> list[tuple[str, dash.Widget]]:
        """(sync key, widget): a visualization's key (#2 for a second copy), text#<n> for text widgets."""
        seen: dict[str, int] = {}
        keyed = []
        for widget in dashboard.widgets:
            base = widget.visualization or "text"
            seen[base] = seen.get(base, 0) + 1
            key = base if widget.visualization and seen[base] == 1 else f"{base}#{seen[base]}"
            keyed.append((key, widget))
        return keyed

    def _sync_widgets(self, dashboard: dash.Dashboard, current: dict, columns: int) -> None:
        existing = sorted((w for w in current.get("widgets") or [] if isinstance(w, dict)), key=lambda w: w["id"])
        claimed: set[int] = set()
        missing: list[tuple[str, dash.Widget, dict]] = []
        for key, widget in self._widget_specs(dashboard):
            marker = f"{self.spec.tag}:{key}"
            desired: dict[str, Any] = {SYNC_KEY: marker}
            if widget.visualization:
                query = self.spec.queries[widget.visualization.partition(".")[0]]
                desired["parameterMappings"] = parameter_mappings(query)
                label = f"{dashboard.name} / {self.spec.visualization(widget.visualization).name}"
            else:
                label = f"{dashboard.name} / text: {' '.join(widget.text.split())[:40]}..."
            have = self._match_widget(existing, claimed, marker, self.viz_ids.get(widget.visualization)
                                      if widget.visualization else None)
            if have is None:
                self._record("create", "widget", label)
                missing.append((key, widget, desired))
                continue
            claimed.add(have["id"])
            text = widget.text or ""
            why = ["text"] if (have.get("text") or "") != text else []
            if not covers(have.get("options") or {}, desired):
                why.append("parameter mappings" if (have.get("options") or {}).get(SYNC_KEY) else "adopted")
            self._record("update" if why else "unchanged", "widget", label, ", ".join(why))
            if why and not self.dry_run:
                self.client.post(f"/api/widgets/{have['id']}",
                                 {"text": text, "options": merged(have.get("options") or {}, desired)},
                                 what=f"widget '{label}' (id {have['id']})")
        if not missing or self.dry_run:
            return
        bottom = max((int(p.get("row", 0)) + int(p.get("sizeY", 0)) for w in existing
                      if isinstance(p := (w.get("options") or {}).get("position"), dict)), default=0)
        kinds = [(w.width, "text" if w.text else self.spec.visualization(w.visualization).type) for _, w, _ in missing]
        for (_, widget, desired), position in zip(missing, layout(kinds, bottom, columns), strict=True):
            options = {**desired, "position": position, "isHidden": False}
            body = {"dashboard_id": current["id"], "visualization_id": self.viz_ids.get(widget.visualization),
                    "text": widget.text or "", "width": 1, "options": options}

            def find(marker: str = desired[SYNC_KEY]) -> dict | None:
                fresh = self._get_dashboard(current)
                return next((w for w in fresh.get("widgets") or []
                             if (w.get("options") or {}).get(SYNC_KEY) == marker), None)
            self.client.post("/api/widgets", body, what=f"dashboard '{dashboard.name}' (id {current['id']})",
                             find=find)
