"""The dashboards as code: dashboards/pipeline_costs.yml, loaded, checked and rendered.

The spec is the one place the package's dashboards are defined. `redash sync` turns it into Redash
queries, visualizations, widgets and dashboards; `report` runs the same queries and draws the same
visualizations into one HTML file. Query SQL is written once, with two kinds of placeholder:

* ``{{ mart.<model> }}`` - a model of the package; resolved to a relation (from dbt's manifest, or a
  schema) before the SQL leaves this module, so Redash never sees it.
* Redash parameters, exactly as Redash writes them: ``{{ pipeline }}`` for a multi-value dropdown
  (Redash inserts ``'a','b'``), ``'{{ run_id }}'`` for a single value inside quotes, ``{{ top_n }}``
  for a number and ``'{{ date_range.start }}'`` / ``'{{ date_range.end }}'`` for a date range.
  For Redash they are left as they are; for the report they are replaced by complete, escaped SQL
  literals of the reader's dialect (`render_sql`), so no value is ever spliced into SQL raw.

Every parameter has a report binding that means "everything" ('(all)', the report's date window, a
number large enough for every row); the report then filters rows client-side on the columns a
query's ``filters`` names - which is why a query must give the same rows for '(all)' as the union of
its rows for each single value (ranked queries rank within pipeline x run x day cells for that).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO / "dashboards" / "pipeline_costs.yml"

ALL = "(all)"
PARAMETER_TYPES = ("query", "enum", "number", "date-range")
VISUALIZATION_TYPES = ("line", "column", "area", "scatter", "heatmap", "box", "counter", "table")
FORMATS = ("money", "bytes", "pct", "ratio", "number", "datetime", "date", "text")  # pct: 12.5; ratio: 0.125
DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery", "databricks", "spark")

_PLACEHOLDER = re.compile(r"(')?\{\{\s*([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\s*\}\}(')?")


class SpecError(ValueError):
    """The spec (or a value bound to it) is not valid; the message says where and why."""


@dataclass(frozen=True)
class Parameter:
    name: str
    title: str
    type: str  # query | enum | number | date-range
    multi: bool = False
    source: str | None = None  # query id listing the values (type query)
    options: tuple[str, ...] = ()  # values (type enum)
    default: object = None  # Redash default
    report: object = None  # report binding: "(all)", a number, or "window" for a date range


@dataclass(frozen=True)
class Column:
    name: str
    title: str
    link: str | None = None  # column holding a URL; the cell links there
    format: str | None = None  # one of FORMATS


@dataclass(frozen=True)
class Visualization:
    id: str
    query: str
    name: str
    type: str
    description: str = ""
    x: str | None = None
    y: tuple[str, ...] = ()
    series: str | None = None
    stacking: bool = False
    series_types: dict[str, str] = field(default_factory=dict)  # y column -> line | scatter | column
    value: str | None = None  # heatmap cell value / counter value
    target: str | None = None  # counter: the value it is compared with
    label: str | None = None  # counter: the caption
    format: str | None = None  # counter: value format (one of FORMATS)
    columns: tuple[Column, ...] = ()  # table
    sort: str | None = None  # report: "-cost" = descending by cost, after filters
    top: int | None = None  # report: rows kept after sorting
    first_row: bool = False  # counter: the first row after filters and sort

    @property
    def key(self) -> str:
        return f"{self.query}.{self.id}"


@dataclass(frozen=True)
class Query:
    id: str
    name: str
    description: str
    sql: str
    parameters: tuple[str, ...]
    filters: dict[str, str]  # parameter -> output column the report filters on
    visualizations: tuple[Visualization, ...]
    marts: tuple[str, ...]
    report: bool = True  # False: only a Redash dropdown source, not drawn in the report
    same_rows_as: str | None = None  # bound to "everything", this query gives that query's rows


@dataclass(frozen=True)
class Widget:
    visualization: str | None = None  # "<query>.<visualization>"
    text: str | None = None  # Markdown
    width: int = 1  # 1 = half the dashboard, 2 = all of it


@dataclass(frozen=True)
class Dashboard:
    id: str
    name: str
    description: str
    exposure: str
    widgets: tuple[Widget, ...]
    tags: tuple[str, ...] = ()

    def visualization_keys(self) -> list[str]:
        return [w.visualization for w in self.widgets if w.visualization]


@dataclass(frozen=True)
class Spec:
    version: int
    tag: str
    parameters: dict[str, Parameter]
    queries: dict[str, Query]
    dashboards: dict[str, Dashboard]

    def visualization(self, key: str) -> Visualization:
        query_id, _, viz_id = key.partition(".")
        for viz in self.queries[query_id].visualizations:
            if viz.id == viz_id:
                return viz
        raise KeyError(key)

    def dashboard_queries(self, dashboard: Dashboard) -> list[Query]:
        """The queries a dashboard's widgets draw, in widget order, each once."""
        seen: dict[str, Query] = {}
        for key in dashboard.visualization_keys():
            query = self.queries[key.partition(".")[0]]
            seen.setdefault(query.id, query)
        return list(seen.values())

    def dashboard_marts(self, dashboard: Dashboard) -> list[str]:
        """The package models a dashboard reads (its queries and their dropdown sources): exposure depends_on."""
        marts: set[str] = set()
        for query in self.dashboard_queries(dashboard):
            marts.update(query.marts)
            for name in query.parameters:
                source = self.parameters[name].source
                if source:
                    marts.update(self.queries[source].marts)
        return sorted(marts)


def load_spec(path: Path | str = SPEC_PATH) -> Spec:
    """Read and check the spec; a SpecError names the first problem."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read the dashboards spec: {exc}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: the dashboards spec must be a mapping")
    return _build_spec(raw, path.name)


def _need(mapping: dict, key: str, where: str, kind=str):
    value = mapping.get(key)
    if value is None or (kind is str and not str(value).strip()):
        raise SpecError(f"{where}: '{key}' is required")
    if not isinstance(value, kind):
        raise SpecError(f"{where}: '{key}' must be a {kind.__name__}")
    return value


def _build_spec(raw: dict, name: str) -> Spec:
    version = raw.get("version")
    if version != 1:
        raise SpecError(f"{name}: version must be 1, got {version!r}")
    tag = _need(raw, "tag", name)

    parameters: dict[str, Parameter] = {}
    for pname, p in (raw.get("parameters") or {}).items():
        where = f"{name}: parameter {pname}"
        ptype = _need(p, "type", where)
        if ptype not in PARAMETER_TYPES:
            raise SpecError(f"{where}: type must be one of {', '.join(PARAMETER_TYPES)}, got {ptype!r}")
        parameters[pname] = Parameter(
            name=pname,
            title=_need(p, "title", where),
            type=ptype,
            multi=bool(p.get("multi", False)),
            source=p.get("source"),
            options=tuple(str(o) for o in p.get("options") or ()),
            default=p.get("default"),
            report=p.get("report"),
        )
        if ptype == "query" and not p.get("source"):
            raise SpecError(f"{where}: a query parameter needs 'source' (the query listing its values)")
        if p.get("report") is None:
            raise SpecError(f"{where}: 'report' (the binding that means everything) is required")

    queries: dict[str, Query] = {}
    for qid, q in (raw.get("queries") or {}).items():
        where = f"{name}: query {qid}"
        sql = _need(q, "sql", where)
        used = sorted({m.group(2) for m in _PLACEHOLDER.finditer(sql) if m.group(2) != "mart"})
        declared = list(q.get("parameters") or ())
        for pname in declared:
            if pname not in parameters:
                raise SpecError(f"{where}: parameter {pname!r} is not defined under parameters")
        if sorted(declared) != used:
            raise SpecError(f"{where}: parameters {sorted(declared)} do not match the SQL's placeholders {used}")
        for m in _PLACEHOLDER.finditer(sql):
            if m.group(2) != "mart":
                param = parameters[m.group(2)]
                if (param.type == "date-range") != (m.group(3) in ("start", "end")):
                    raise SpecError(f"{where}: write a date range as {{{{ {param.name}.start }}}} / .end, other parameters without a field")
                _check_quoting(qid, param, bool(m.group(1) and m.group(4)), bool(m.group(1) or m.group(4)))
        marts = tuple(sorted({m.group(3) for m in _PLACEHOLDER.finditer(sql) if m.group(2) == "mart"}))
        if not marts:
            raise SpecError(f"{where}: the SQL reads no {{{{ mart.<model> }}}}")
        filters = dict(q.get("filters") or {})
        for pname in filters:
            if pname not in declared:
                raise SpecError(f"{where}: filter {pname!r} is not one of the query's parameters")
        vizzes = tuple(_build_visualization(qid, v, f"{where}: visualization") for v in q.get("visualizations") or ())
        if len({v.id for v in vizzes}) != len(vizzes):
            raise SpecError(f"{where}: visualization ids must be unique")
        queries[qid] = Query(
            id=qid,
            name=_need(q, "name", where),
            description=_need(q, "description", where),
            sql=sql.strip() + "\n",
            parameters=tuple(declared),
            filters=filters,
            visualizations=vizzes,
            marts=marts,
            report=bool(q.get("report", True)),
            same_rows_as=q.get("same_rows_as"),
        )

    for pname, p in parameters.items():
        if p.source and p.source not in queries:
            raise SpecError(f"{name}: parameter {pname}: source {p.source!r} is not a query")
    for q in queries.values():
        if q.same_rows_as and q.same_rows_as not in queries:
            raise SpecError(f"{name}: query {q.id}: same_rows_as {q.same_rows_as!r} is not a query")

    dashboards: dict[str, Dashboard] = {}
    for did, d in (raw.get("dashboards") or {}).items():
        where = f"{name}: dashboard {did}"
        widgets = []
        for i, w in enumerate(_need(d, "widgets", where, list)):
            viz_key, text = w.get("visualization"), w.get("text")
            if bool(viz_key) == bool(text):
                raise SpecError(f"{where}: widget {i + 1} needs exactly one of 'visualization' or 'text'")
            if viz_key:
                qid, _, vid = str(viz_key).partition(".")
                if qid not in queries or vid not in {v.id for v in queries[qid].visualizations}:
                    raise SpecError(f"{where}: widget {i + 1}: no visualization {viz_key!r}")
            width = int(w.get("width", 1))
            if width not in (1, 2):
                raise SpecError(f"{where}: widget {i + 1}: width must be 1 (half) or 2 (full)")
            widgets.append(Widget(visualization=viz_key, text=text, width=width))
        dashboards[did] = Dashboard(
            id=did,
            name=_need(d, "name", where),
            description=_need(d, "description", where),
            exposure=_need(d, "exposure", where),
            widgets=tuple(widgets),
            tags=tuple(d.get("tags") or ()),
        )
    if not dashboards:
        raise SpecError(f"{name}: no dashboards")
    return Spec(version=version, tag=tag, parameters=parameters, queries=queries, dashboards=dashboards)


def _build_visualization(query_id: str, v: dict, where: str) -> Visualization:
    vid = _need(v, "id", where)
    where = f"{where} {vid}"
    vtype = _need(v, "type", where)
    if vtype not in VISUALIZATION_TYPES:
        raise SpecError(f"{where}: type must be one of {', '.join(VISUALIZATION_TYPES)}, got {vtype!r}")
    columns = tuple(
        Column(name=c["name"], title=c.get("title", c["name"]), link=c.get("link"), format=c.get("format"))
        for c in v.get("columns") or ()
    )
    for fmt in [v.get("format"), *(c.format for c in columns)]:
        if fmt is not None and fmt not in FORMATS:
            raise SpecError(f"{where}: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if vtype == "table" and not columns:
        raise SpecError(f"{where}: a table needs 'columns'")
    if vtype in ("line", "column", "area", "scatter", "box") and not (v.get("x") and v.get("y")):
        raise SpecError(f"{where}: a {vtype} chart needs 'x' and 'y'")
    if vtype in ("heatmap", "counter") and not v.get("value"):
        raise SpecError(f"{where}: a {vtype} needs 'value'")
    y = v.get("y") or ()
    return Visualization(
        id=vid,
        query=query_id,
        name=_need(v, "name", where),
        type=vtype,
        description=v.get("description", ""),
        x=v.get("x"),
        y=tuple([y] if isinstance(y, str) else y),
        series=v.get("series"),
        stacking=bool(v.get("stacking", False)),
        series_types=dict(v.get("series_types") or {}),
        value=v.get("value"),
        target=v.get("target"),
        label=v.get("label"),
        format=v.get("format"),
        columns=columns,
        sort=v.get("sort"),
        top=v.get("top"),
        first_row=bool(v.get("first_row", False)),
    )


# ---------------------------------------------------------------------------------------------
# Relations: where the package's models are.


def relations_from_manifest(manifest_path: Path | str, package: str = "dbt_pipeline_costs") -> dict[str, str]:
    """Model name -> relation as dbt renders it (quoted for its adapter), from target/manifest.json."""
    import json

    try:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpecError(f"{manifest_path}: cannot read dbt's manifest: {exc}") from None
    relations = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model" and node.get("package_name") == package and node.get("relation_name"):
            relations[node["name"]] = node["relation_name"]
    if not relations:
        raise SpecError(f"{manifest_path}: no models of package {package} (run dbt parse or compile first)")
    return relations


def relations_in_schema(schema: str, models) -> dict[str, str]:
    """Model name -> '<schema>.<model>' (schema may be 'project.dataset' or 'catalog.schema')."""
    if not re.fullmatch(r"[A-Za-z0-9_\-$`\".]+", schema):
        raise SpecError(f"schema {schema!r}: only letters, digits, _ - $ . and quotes are allowed")
    return {name: f"{schema}.{name}" for name in models}


def resolve_marts(sql: str, relations: dict[str, str]) -> str:
    """Replace every {{ mart.<model> }} with its relation."""

    def replace(match: re.Match) -> str:
        if match.group(2) != "mart":
            return match.group(0)
        model = match.group(3)
        if model not in relations:
            raise SpecError(f"model {model!r} has no relation (is the package built in this target?)")
        return (match.group(1) or "") + relations[model] + (match.group(4) or "")

    return _PLACEHOLDER.sub(replace, sql)


def all_marts(spec: Spec) -> list[str]:
    return sorted({m for q in spec.queries.values() for m in q.marts})


# ---------------------------------------------------------------------------------------------
# Rendering for Redash (parameters kept) and for a reader (parameters bound to literals).


def redash_sql(spec: Spec, query: Query, relations: dict[str, str]) -> str:
    """The query text Redash stores: relations resolved, Redash's own parameter syntax kept."""
    return resolve_marts(query.sql, relations)


def sql_string_literal(value: str, dialect: str) -> str:
    """A complete SQL string literal for `value` in `dialect` (quotes and backslashes escaped)."""
    if dialect not in DIALECTS:
        raise SpecError(f"dialect {dialect!r}: one of {', '.join(DIALECTS)}")
    text = str(value)
    if "\x00" in text:
        raise SpecError("a parameter value contains a NUL character")
    if dialect in ("bigquery", "databricks", "spark"):
        # Backslash is an escape character in their string literals.
        text = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    else:
        text = text.replace("'", "''")
    return f"'{text}'"


def _date_text(value) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise SpecError(f"date {value!r}: expected YYYY-MM-DD") from None


def render_sql(spec: Spec, query: Query, relations: dict[str, str], values: dict[str, object], dialect: str) -> str:
    """The query with relations resolved and every parameter replaced by an escaped literal.

    values: parameter -> value; a multi-value parameter takes a list, a date range a
    (start, end) pair of dates, a number an int.
    """
    sql = resolve_marts(query.sql, relations)
    missing = [p for p in query.parameters if p not in values]
    if missing:
        raise SpecError(f"query {query.id}: no value for parameter(s) {', '.join(missing)}")

    def replace(match: re.Match) -> str:
        open_quote, name, attr, close_quote = match.groups()
        param = spec.parameters[name]
        value = values[name]
        quoted = bool(open_quote and close_quote)
        if param.type == "date-range":
            if attr not in ("start", "end"):
                raise SpecError(f"query {query.id}: a date range is used as {{{{ {name}.start }}}} or .end")
            start, end = value
            text = _date_text(start if attr == "start" else end)
            literal = sql_string_literal(text, dialect)
        elif param.type == "number":
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                raise SpecError(f"parameter {name}: {value!r} is not a number") from None
            if not number.is_finite():
                raise SpecError(f"parameter {name}: {value!r} is not a finite number")
            literal = str(int(number)) if number == number.to_integral_value() else str(number)
        elif param.multi:
            items = list(value) if isinstance(value, (list, tuple)) else [value]
            if not items:
                raise SpecError(f"parameter {name}: at least one value is needed")
            literal = ", ".join(sql_string_literal(str(v), dialect) for v in items)
        else:
            literal = sql_string_literal(str(value), dialect)
        _check_quoting(query.id, param, quoted, bool(open_quote or close_quote))
        return literal

    return _PLACEHOLDER.sub(replace, sql)


def _check_quoting(query_id: str, param: Parameter, quoted: bool, half_quoted: bool) -> None:
    """Redash inserts numbers and multi-value lists ready-made and single values raw: the SQL must
    quote exactly the single values (then the literal replaces the quotes too)."""
    wants_quotes = param.type != "number" and not param.multi
    if quoted != wants_quotes or (half_quoted and not quoted):
        placeholder = "{{ " + param.name + " }}"
        how = f"inside quotes: '{placeholder}'" if wants_quotes else f"without quotes: {placeholder}"
        raise SpecError(f"query {query_id}: parameter {param.name} must be written {how}")


def report_values(spec: Spec, since: dt.date, until: dt.date) -> dict[str, object]:
    """The binding that means "everything" for each parameter, the date range being the report window."""
    values: dict[str, object] = {}
    for name, param in spec.parameters.items():
        if param.type == "date-range":
            values[name] = (since, until)
        elif param.multi:
            values[name] = [param.report]
        else:
            values[name] = param.report
    return values
