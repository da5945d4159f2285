"""`report`: the dashboards of dashboards/pipeline_costs.yml as one self-contained HTML file, with the
same data as JSON, CSV (one file per dataset) and a Markdown summary.

Each report query of the spec runs once, every parameter bound to its "everything" value
(`dashboards.report_values`: all pipelines, all runs, the report's date window); the page then filters
the rows in the browser on the columns each query's `filters` names, so one file answers any choice
of pipelines, dates and runs. A query with `same_rows_as` reuses that query's rows.

Values: money stays exact. report.json writes every number as a JSON number with all the digits the
warehouse returned (read it with `json.loads(text, parse_float=decimal.Decimal)`); the CSV files write
them as text. Only the copy embedded in the HTML page is rounded (to 10 significant digits: what a
browser can draw). Dates are ISO dates, timestamps ISO 8601 in UTC.

The page (report_assets/) is self-contained: Plotly's JavaScript from the pinned `plotly` package is
inlined (gzip + base64, unpacked by the page), there are no external fonts, images or requests (its
Content-Security-Policy allows none), the data sits in a <script type="application/json"> block with
<, > and & written as \\u003c etc., and the page's script inserts every name as text.
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import gzip
import importlib.resources
import json
import re
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline_costs import __version__
from pipeline_costs.dashboards import (
    Spec,
    SpecError,
    Visualization,
    all_marts,
    load_spec,
    render_sql,
    report_values,
)
from pipeline_costs.report_readers import DbtReader, DuckDBReader, Reader, ReportError

ASSETS = Path(__file__).resolve().parent / "report_assets"
DEFAULT_DAYS = 30
WINDOW_MARTS = ("dashboard_pipeline_runs", "cost_coverage")  # the latest date with data: the window's default end
MD_ROWS = 10  # rows per Markdown table
BUDGET_STATUS = {  # cost_forecast_summary.budget_status, as the page and the Markdown say it
    "crossed": "over budget", "projected_to_cross": "projected to exceed the budget", "within_budget": "within budget",
    "no_budget": "no budget set", "not_forecast": "no forecast yet",
}


@dataclass
class Dataset:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass
class Report:
    title: str
    generated_at: dt.datetime
    since: dt.date
    until: dt.date
    source: dict[str, str]
    spec: Spec
    datasets: dict[str, Dataset]  # query id -> rows (queries with same_rows_as are not run)
    aliases: dict[str, str]  # query id -> the query whose rows it shares

    def dataset(self, query_id: str) -> Dataset:
        return self.datasets[self.aliases.get(query_id, query_id)]


# ---------------------------------------------------------------------------------------------
# Command line


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report",
        help="write the cost dashboards as one HTML file (plus JSON, CSV, Markdown)",
        description=("Run the queries of dashboards/pipeline_costs.yml against the package's marts and write "
                     "OUT/report.html (self-contained: charts, filters by pipeline/date/run, run comparison), "
                     "OUT/report.json, OUT/csv/<query>.csv and OUT/report.md. Prints the HTML file's path."),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--duckdb", type=Path, help="DuckDB file the package was built in")
    source.add_argument("--dbt-project-dir", type=Path,
                        help="your dbt project (with dbt_pipeline_costs installed): the marts are read through dbt")
    parser.add_argument("--schema", default="main_pipeline_costs", help="with --duckdb: schema of the marts")
    parser.add_argument("--profiles-dir", type=Path, help="with --dbt-project-dir: directory of profiles.yml")
    parser.add_argument("--target", help="with --dbt-project-dir: the dbt target (default: the profile's)")
    parser.add_argument("--out", type=Path, default=Path("build/report"), help="output directory (default build/report)")
    parser.add_argument("--since", help="first day of the window, YYYY-MM-DD")
    window = parser.add_mutually_exclusive_group()
    window.add_argument("--until", help="last day of the window, YYYY-MM-DD (default: the latest day with data)")
    window.add_argument("--days", help=f"days in the window (default {DEFAULT_DAYS}), ending on the latest day with "
                        "data, or starting on --since")
    parser.add_argument("--title", default="Pipeline costs", help="the report's title")
    return parser


def _date_arg(name: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ReportError(f"--{name} {value!r}: expected a date as YYYY-MM-DD") from None


def _days_arg(value: str | None) -> int | None:
    if value is None:
        return None
    if not re.fullmatch(r"\d{1,5}", value) or int(value) < 1:
        raise ReportError(f"--days {value!r}: expected a whole number of days, at least 1")
    return int(value)


def run(args: argparse.Namespace) -> int:
    try:
        since, until, days = _date_arg("since", args.since), _date_arg("until", args.until), _days_arg(args.days)
        if since and until and since > until:
            raise ReportError(f"--since {since} is after --until {until}")
        plotly_js()  # before any query: the page cannot be written without it
        spec = load_spec()
        reader = _open_reader(args, spec)
        try:
            since, until = _window(reader, since, until, days)
            report = collect(spec, reader, since, until, args.title)
        finally:
            reader.close()
        html_path = write_all(report, args.out)
    except (ReportError, SpecError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write the report: {exc}", file=sys.stderr)
        return 2
    counts = sum(len(d.rows) for d in report.datasets.values())
    print(f"report: {report.since} .. {report.until}, {len(report.datasets)} datasets, {counts:,} rows; "
          f"report.json, report.md and csv/ beside it", file=sys.stderr)
    print(html_path)
    return 0


def _open_reader(args: argparse.Namespace, spec: Spec) -> Reader:
    marts = all_marts(spec)
    if args.duckdb is not None:
        if args.profiles_dir or args.target:
            raise ReportError("--profiles-dir and --target go with --dbt-project-dir, not --duckdb")
        return DuckDBReader(args.duckdb, args.schema, marts)
    return DbtReader(args.dbt_project_dir, args.profiles_dir, args.target, marts)


def _window(reader: Reader, since: dt.date | None, until: dt.date | None,
            days: int | None) -> tuple[dt.date, dt.date]:
    """The report's days: explicit dates, or `days` (default 30) ending on the latest day with data."""
    if since and days:
        return since, since + dt.timedelta(days=days - 1)
    if since and until:
        return since, until
    if until is None:
        until = _latest_date(reader)
        if since and since > until:
            raise ReportError(f"--since {since} is after the latest day with data ({until})")
    return since or until - dt.timedelta(days=(days or DEFAULT_DAYS) - 1), until


def _latest_date(reader: Reader) -> dt.date:
    runs, coverage = (reader.relations[m] for m in WINDOW_MARTS)
    _, rows = reader.query(
        "select max(latest.latest_date) as latest_date from ("
        f" select max(runs.run_date) as latest_date from {runs} as runs"
        " union all"
        f" select max(coverage.cost_date) as latest_date from {coverage} as coverage"
        ") as latest")
    latest = rows[0][0] if rows else None
    if latest is None:
        raise ReportError("the marts hold no pipeline runs and no spend yet; run the package's models first")
    return latest if not isinstance(latest, dt.datetime) else latest.date()


def collect(spec: Spec, reader: Reader, since: dt.date, until: dt.date, title: str = "Pipeline costs") -> Report:
    """Run each report query of the spec once, bound to "everything" in the window."""
    values = report_values(spec, since, until)
    datasets: dict[str, Dataset] = {}
    aliases: dict[str, str] = {}
    for query in spec.queries.values():
        if not query.report:
            continue
        if query.same_rows_as:
            aliases[query.id] = query.same_rows_as
            continue
        try:
            columns, rows = reader.query(render_sql(spec, query, reader.relations, values, reader.dialect))
        except ReportError as exc:
            raise ReportError(f"query {query.id}: {exc}") from None
        datasets[query.id] = Dataset(columns, rows)
    return Report(title=title, generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0), since=since,
                  until=until, source=reader.source, spec=spec, datasets=datasets, aliases=aliases)


# ---------------------------------------------------------------------------------------------
# Shared by the JSON and Markdown outputs: counters and sorting as the page does them.


def sorted_rows(records: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    """Rows ordered as `sort` says ("-cost": descending); missing values last either way."""
    if not sort:
        return records
    column = sort.lstrip("-")
    present = [r for r in records if r.get(column) is not None]
    missing = [r for r in records if r.get(column) is None]
    return sorted(present, key=lambda r: r[column], reverse=sort.startswith("-")) + missing


def counters(report: Report) -> list[dict[str, Any]]:
    """The headline tiles: every counter the dashboards show, first-dashboard first, each once."""
    seen: list[str] = []
    for dashboard in report.spec.dashboards.values():
        for key in dashboard.visualization_keys():
            if key not in seen and report.spec.visualization(key).type == "counter":
                seen.append(key)
    tiles = []
    for key in seen:
        viz = report.spec.visualization(key)
        rows = sorted_rows(report.dataset(viz.query).records(), viz.sort)
        row = rows[0] if rows else {}
        tiles.append({
            "visualization": key, "name": viz.name, "label": viz.label or viz.name, "format": viz.format,
            "value_column": viz.value, "value": row.get(viz.value or ""),
            "target_column": viz.target, "target": row.get(viz.target) if viz.target else None,
            "currency": row.get("currency"), "row": row,
        })
    return tiles


def top_pipelines(report: Report, limit: int = MD_ROWS) -> list[dict[str, Any]]:
    """Pipelines by their runs' total cost in the window."""
    totals: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for run_row in report.dataset("pipeline_runs").records():
        entry = totals[(run_row["pipeline_id"], run_row["currency"])]
        entry[0] += 1
        entry[1] += Decimal(str(run_row["total_cost"] or 0))
    grand = sum((v[1] for v in totals.values()), Decimal(0))
    ranked = sorted(totals.items(), key=lambda item: (-item[1][1], item[0]))
    return [{"pipeline_id": pipeline, "runs": runs, "total_cost": cost, "currency": currency,
             "share_pct": (cost / grand * 100) if grand else None}
            for (pipeline, currency), (runs, cost) in ranked[:limit]]


# ---------------------------------------------------------------------------------------------
# Writers


def write_all(report: Report, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    csv_dir = out / "csv"
    csv_dir.mkdir(exist_ok=True)
    for stale in csv_dir.glob("*.csv"):
        stale.unlink()
    for query_id, dataset in report.datasets.items():
        write_csv(dataset, csv_dir / f"{query_id}.csv")
    (out / "report.json").write_text(report_json(report), encoding="utf-8")
    (out / "report.md").write_text(report_markdown(report), encoding="utf-8")
    html_path = out / "report.html"
    html_path.write_text(report_html(report), encoding="utf-8")
    return html_path.resolve()


def _text(value: Any) -> str:
    """A value as CSV text: exact decimals, ISO dates and UTC timestamps, empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def write_csv(dataset: Dataset, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(dataset.columns)
        writer.writerows([_text(v) for v in row] for row in dataset.rows)


def _column_type(values: list[Any]) -> str:
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return "null"
    if kinds <= {bool}:
        return "boolean"
    if kinds <= {int, float, Decimal}:
        return "number"
    if kinds <= {dt.datetime}:
        return "datetime"
    if kinds <= {dt.date}:
        return "date"
    return "text"


_STRING = json.encoder.encode_basestring  # the C encoder json.dumps uses


def _json(value: Any, exact: bool = True) -> str:
    """JSON text for report values. exact: decimals with every digit; else rounded to 10 digits."""
    kind = type(value)
    if kind is str:
        return _STRING(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is Decimal:
        if value == value.to_integral_value() and abs(value) < 2**53:
            return str(int(value))
        return format(value, "f") if exact else repr(float(f"{value:.10g}"))
    if kind is float:
        return repr(value) if exact else repr(float(f"{value:.10g}"))
    if kind is dt.datetime:
        return _STRING(value.isoformat() if exact else value.strftime("%Y-%m-%d %H:%M:%S.%f")[:23])
    if kind is dt.date:
        return _STRING(value.isoformat())
    if isinstance(value, dict):
        return "{" + ",".join(f"{_STRING(str(k))}:{_json(v, exact)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join([_json(v, exact) for v in value]) + "]"
    return _STRING(str(value))


def _window_dict(report: Report) -> dict[str, Any]:
    return {"since": report.since, "until": report.until, "days": (report.until - report.since).days + 1}


def report_json(report: Report) -> str:
    datasets = {
        query_id: {
            "name": report.spec.queries[query_id].name,
            "columns": dataset.columns,
            "types": [_column_type([row[i] for row in dataset.rows]) for i in range(len(dataset.columns))],
            "rows": [list(row) for row in dataset.rows],
        }
        for query_id, dataset in report.datasets.items()
    }
    document = {
        "generated_at": report.generated_at,
        "title": report.title,
        "package": "dbt_pipeline_costs",
        "package_version": __version__,
        "window": _window_dict(report),
        "source": report.source,
        "headline": counters(report),
        "top_pipelines": top_pipelines(report),
        "same_rows_as": report.aliases,
        "datasets": datasets,
    }
    lines = ["{"]
    items = list(document.items())
    for i, (key, value) in enumerate(items):
        if key == "datasets":
            body = ",\n".join(f"  {json.dumps(qid)}: {_json(ds)}" for qid, ds in value.items())
            text = "{\n" + body + "\n }"
        else:
            text = _json(value)
        lines.append(f" {json.dumps(key)}: {text}" + ("," if i < len(items) - 1 else ""))
    return "\n".join(lines) + "\n}\n"


# ---------------------------------------------------------------------------------------------
# Markdown


def _md_cell(value: Any) -> str:
    """Cell text that cannot break the table or be read as HTML/links: | \\ ` * [ ] < > & escaped,
    newlines flattened."""
    text = " ".join(str(value).split())
    for char in "\\`*[]|":
        text = text.replace(char, "\\" + char)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def money(value: Any, currency: Any) -> str:
    """Presentation only: cents, or two significant digits below a cent (the marts keep every digit)."""
    if value is None:
        return ""
    amount = Decimal(str(value))
    text = f"{amount:,.2f}" if amount == 0 or abs(amount) >= Decimal("0.01") else f"{float(amount):.2g}"
    return f"{currency or ''} {text}".strip()


def _bytes(value: Any) -> str:
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(amount) < 1000 or unit == "PB":
            return f"{amount:,.0f} {unit}" if unit == "B" else f"{amount:,.2f} {unit}"
        amount /= 1000
    return ""


def _pct(value: Any, column: str, ratio: bool) -> str:
    """pct holds percents (12.5), ratio fractions of 1 (0.125)."""
    if value is None:
        return ""
    number = float(value) * 100 if ratio else float(value)
    return f"{number:+,.1f}%" if "change" in column else f"{number:,.1f}%"


def formatted(value: Any, fmt: str | None, column: str, currency: Any = None) -> str:
    if value is None:
        return ""
    if fmt == "money":
        return money(value, currency)
    if fmt == "bytes":
        return _bytes(value)
    if fmt in ("pct", "ratio"):
        return _pct(value, column, ratio=fmt == "ratio")
    if fmt == "number" and isinstance(value, (int, float, Decimal)):
        return f"{Decimal(str(value)):,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{int(value):,}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


class _Link(str):
    """A cell already written as a Markdown link (text escaped, URL percent-encoded)."""


def _md_link(text: str, url: Any) -> str:
    if not isinstance(url, str) or not re.match(r"https?://[^\s]+$", url, flags=re.IGNORECASE):
        return text
    safe_url = "".join(c if c not in "()<>[]|\\\"'` " else f"%{ord(c):02X}" for c in url)
    return _Link(f"[{_md_cell(text)}]({safe_url})")


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_md_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(c if isinstance(c, _Link) else _md_cell(c) for c in row) + " |" for row in rows]
    return lines


def _md_visualization(report: Report, key: str, limit: int = MD_ROWS) -> list[str]:
    viz: Visualization = report.spec.visualization(key)
    rows = sorted_rows(report.dataset(viz.query).records(), viz.sort)
    shown = rows[: min(limit, viz.top or limit)]
    columns = [c for c in viz.columns if c.name != "currency"]
    lines = [f"## {viz.name}", ""]
    if not shown:
        return lines + ["None in this window.", ""]
    table = _md_table([c.title for c in columns], [[_md_link(formatted(r.get(c.name), c.format, c.name, r.get("currency")),
                                                             r.get(c.link) if c.link else None)
                                                    for c in columns] for r in shown])
    note = [f"The first {len(shown)} of {len(rows):,}.", ""] if len(rows) > len(shown) else []
    return lines + table + [""] + note


def _tile_detail(tile: dict[str, Any]) -> str:
    """The context the page shows under a tile: which run, the comparison value, interval, budget, what."""
    row, currency = tile["row"], tile["currency"]
    parts = []
    if row.get("pipeline_id") is not None and row.get("run_started_at") is not None:
        parts.append(f"pipeline {row['pipeline_id']}, run {row.get('pipeline_run_id')}, "
                     f"started {formatted(row['run_started_at'], None, 'run_started_at')}")
    if tile["target"] is not None:
        parts.append(f"vs {formatted(tile['target'], tile['format'], tile['target_column'], currency)}")
    elif "change" in (tile["value_column"] or "") and row.get("previous_run_cost") is not None:
        parts.append(f"vs {money(row['previous_run_cost'], currency)} the run before")
    lower, upper = interval_columns(tile["value_column"] or "")
    if row.get(lower) is not None and row.get(upper) is not None:
        parts.append(f"interval {money(row[lower], currency)} .. {money(row[upper], currency)}")
    if row.get("budget_status") is not None:
        status = BUDGET_STATUS.get(row["budget_status"], str(row["budget_status"]).replace("_", " "))
        parts.append(status + (f" ({money(row['monthly_budget'], currency)})" if row.get("monthly_budget") is not None else ""))
    if row.get("kind") is not None and row.get("subject") is not None:
        parts.append(f"{row['kind']}: {row['subject']}")
    return "; ".join(parts)


def interval_columns(value_column: str) -> tuple[str, str]:
    """projected_month_end_cost -> its interval's columns projected_month_end_lower_cost / _upper_cost."""
    stem = value_column.removesuffix("_cost")
    return f"{stem}_lower_cost", f"{stem}_upper_cost"


def report_markdown(report: Report) -> str:
    window = _window_dict(report)
    about = (f"{window['days']} days, {report.since} to {report.until} (UTC). Generated "
             f"{report.generated_at:%Y-%m-%d %H:%M} UTC by dbt_pipeline_costs {__version__}; the charts are in report.html.")
    lines = [f"# {_md_cell(report.title)}", "", about, "", "## Headline", ""]
    lines += _md_table(["Figure", "Value", "Detail"], [
        [tile["label"], formatted(tile["value"], tile["format"], tile["value_column"] or "", tile["currency"]) or "n/a",
         _tile_detail(tile)] for tile in counters(report)])
    lines += ["", "## Top pipelines", ""]
    top = top_pipelines(report)
    lines += _md_table(["Pipeline", "Runs", "Cost", "Share"], [
        [p["pipeline_id"], f"{p['runs']:,}", money(p["total_cost"], p["currency"]),
         "" if p["share_pct"] is None else f"{p['share_pct']:.1f}%"] for p in top]) if top else ["No runs."]
    lines.append("")
    for key in ("anomalies.anomaly_table", "queries.top_queries", "recommendations.recommendation_table"):
        lines += _md_visualization(report, key)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------
# HTML


def _embedded_dataset(dataset: Dataset) -> dict[str, Any]:
    """The rows as the page gets them: column by column, a column with repeats as a dictionary plus
    indexes, and a text column that mostly contains another column's value (a console URL holding
    the query id) as dictionary templates with NUL where the other column's value goes."""
    count = len(dataset.rows)
    columns = [[row[i] for row in dataset.rows] for i in range(len(dataset.columns))]
    types = [_column_type(values) for values in columns]
    data: list[Any] = []
    for values in columns:
        distinct = list(dict.fromkeys(values))
        data.append(_indexed(values, distinct) if len(distinct) * 2 < count else values)
    templated: set[int] = set()
    for i, values in enumerate(columns):
        if types[i] == "text" and isinstance(data[i], list):
            template = _templated(i, columns, types, templated)
            if template is not None:
                data[i] = template
                templated.add(i)
    return {"columns": dataset.columns, "types": types, "count": count, "data": data}


def _indexed(values: list[Any], distinct: list[Any]) -> dict[str, Any]:
    position = {value: n for n, value in enumerate(distinct)}
    return {"dict": distinct, "index": [position[v] for v in values]}


def _templated(i: int, columns: list[list[Any]], types: list[str], templated: set[int]) -> dict[str, Any] | None:
    values = columns[i]
    if any("\x00" in v for v in values if v):
        return None
    for j, other in enumerate(columns):
        if j == i or j in templated or types[j] != "text":
            continue
        templates = [v.replace(o, "\x00", 1) if v and o and o in v else v for v, o in zip(values, other, strict=True)]
        distinct = list(dict.fromkeys(templates))
        if len(distinct) * 2 < len(values):
            return {**_indexed(templates, distinct), "fill": j}
    return None


def _spec_payload(spec: Spec) -> dict[str, Any]:
    return {
        "parameters": {name: {"title": p.title, "type": p.type} for name, p in spec.parameters.items()},
        "queries": {
            q.id: {"name": q.name, "description": q.description, "filters": q.filters, "report": q.report,
                   "same_rows_as": q.same_rows_as,
                   "visualizations": [asdict(v) for v in q.visualizations]}
            for q in spec.queries.values()
        },
        "dashboards": [asdict(d) for d in spec.dashboards.values()],
    }


def script_json(text: str) -> str:
    """JSON made safe inside <script>: no <, >, & (so no </script> or <!--), no line separators."""
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def plotly_js() -> bytes:
    """Plotly's JavaScript from the installed `plotly` package (requirements.txt pins it)."""
    try:
        return (importlib.resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        raise ReportError("the HTML report needs the plotly package: pip install plotly==7.1.0") from None


def _packed(code: bytes) -> str:
    """gzip + base64: the page unpacks it with DecompressionStream (a third of the size)."""
    text = base64.b64encode(gzip.compress(code, compresslevel=6, mtime=0)).decode("ascii")
    return "\n".join(text[i:i + 120] for i in range(0, len(text), 120))


def report_html(report: Report) -> str:
    payload = {
        "title": report.title,
        "generated_at": report.generated_at,
        "version": __version__,
        "window": _window_dict(report),
        "source": report.source,
        "spec": _spec_payload(report.spec),
        "aliases": report.aliases,
        "datasets": {qid: _embedded_dataset(ds) for qid, ds in report.datasets.items()},
    }
    parts = {
        "TITLE": _html_escape(report.title),
        "CSS": (ASSETS / "report.css").read_text(encoding="utf-8"),
        "DATA": script_json(_json(payload, exact=False)),
        "PLOTLY": _packed(plotly_js()),
        "JS": re.sub(r"</(script)", r"<\\/\1", (ASSETS / "report.js").read_text(encoding="utf-8"), flags=re.IGNORECASE),
    }
    template = (ASSETS / "report.html").read_text(encoding="utf-8")
    return re.sub(r"%%(TITLE|CSS|DATA|PLOTLY|JS)%%", lambda m: parts[m.group(1)], template)


def _html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)
