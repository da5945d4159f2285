"""Where `report` reads the marts from: a DuckDB file, or any dbt target through dbt itself.

Both readers take the SQL `dashboards.render_sql` renders for their dialect and return column names
and rows of plain Python values (str, int, Decimal, float, bool, date, UTC datetime, None):

* `DuckDBReader` opens the file read-only; the marts are `<schema>.<model>`.
* `DbtReader` parses the user's project with dbt (`dbtRunner`, in this process), takes each model's
  relation from the manifest and the dialect from the adapter type, and runs every query with
  `dbt show --inline` (the SQL wrapped in raw tags so dbt renders nothing in it, no row limit). It
  works for any adapter dbt can connect with; nothing but dbt's own profile holds credentials.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

# dbt adapter type -> dialect of dashboards.render_sql (how a string literal is escaped).
ADAPTER_DIALECTS = {
    "duckdb": "duckdb",
    "postgres": "postgres",
    "redshift": "postgres",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "databricks": "databricks",
    "spark": "spark",
}
PACKAGE = "dbt_pipeline_costs"


class ReportError(Exception):
    """Bad input or an unreadable source; the message is one line for the user."""


class Reader(Protocol):
    dialect: str
    relations: dict[str, str]
    source: dict[str, str]

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def close(self) -> None: ...


def plain(value: Any) -> Any:
    """One value as the report keeps it: NaN/infinity -> None, datetimes in UTC, unknown types as text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return value
    return str(value)


def _one_line(text: object, limit: int = 400) -> str:
    """An error message on one line (dbt's start with a bare 'Runtime Error' line)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if len(lines) > 1 and re.fullmatch(r"[A-Za-z ]*Error", lines[0]):
        lines = lines[1:]
    message = " ".join(lines) or "unknown error"
    return message if len(message) <= limit else message[: limit - 1] + "…"


class DuckDBReader:
    """The marts in a DuckDB file the package was built in (opened read-only)."""

    dialect = "duckdb"

    def __init__(self, path: Path, schema: str, marts: list[str]) -> None:
        import duckdb

        from pipeline_costs.dashboards import SpecError, relations_in_schema

        if not path.is_file():
            raise ReportError(f"{path} does not exist; run `make demo` (or dbt build) first")
        try:
            self.relations = relations_in_schema(schema, marts)
        except SpecError as exc:
            raise ReportError(str(exc)) from None
        try:
            self._con = duckdb.connect(str(path), read_only=True)
            self._con.execute("set TimeZone = 'UTC'")
            present = {row[0] for row in self._con.execute(
                "select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall()}
        except duckdb.Error as exc:
            raise ReportError(f"{path}: cannot read it as a DuckDB database: {_one_line(exc)}") from None
        missing = [mart for mart in marts if mart not in present]
        if missing:
            self._con.close()
            raise ReportError(f"schema {schema} in {path} lacks {', '.join(missing)}; "
                              "build the package first (dbt build)")
        self.source = {"kind": "duckdb", "path": str(path.resolve()), "schema": schema}
        self._duckdb_error = duckdb.Error

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        try:
            relation = self._con.sql(sql)
            columns = list(relation.columns)
            rows = [tuple(plain(v) for v in row) for row in relation.fetchall()]
        except self._duckdb_error as exc:
            raise ReportError(f"query failed: {_one_line(exc)}") from None
        return columns, rows

    def close(self) -> None:
        self._con.close()


class DbtReader:
    """The marts in a dbt target, read through dbt (`dbt parse`, then `dbt show --inline` per query)."""

    def __init__(self, project_dir: Path, profiles_dir: Path | None, target: str | None, marts: list[str]) -> None:
        os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        from dbt.cli.main import dbtRunner

        if not (project_dir / "dbt_project.yml").is_file():
            raise ReportError(f"{project_dir} is not a dbt project (no dbt_project.yml)")
        if profiles_dir is not None and not (profiles_dir / "profiles.yml").is_file():
            raise ReportError(f"{profiles_dir} has no profiles.yml")
        self._errors: list[str] = []
        self._args = ["--project-dir", str(project_dir)]
        if profiles_dir is not None:
            self._args += ["--profiles-dir", str(profiles_dir)]
        if target:
            self._args += ["--target", target]
        parsed = dbtRunner(callbacks=[self._collect]).invoke(["parse", "--log-level", "none", *self._args])
        if not parsed.success or parsed.result is None:
            raise ReportError(f"dbt parse failed in {project_dir}: {self._why(parsed)}")
        manifest = parsed.result
        adapter = manifest.metadata.adapter_type or ""
        if adapter not in ADAPTER_DIALECTS:
            raise ReportError(f"adapter {adapter!r} is not supported by the report "
                              f"(supported: {', '.join(sorted(ADAPTER_DIALECTS))})")
        self.dialect = ADAPTER_DIALECTS[adapter]
        relations = {node.name: node.relation_name for node in manifest.nodes.values()
                     if node.resource_type == "model" and node.package_name == PACKAGE and node.relation_name}
        missing = [mart for mart in marts if mart not in relations]
        if missing:
            raise ReportError(f"the dbt project in {project_dir} has no model(s) {', '.join(missing)} of "
                              f"{PACKAGE}; install the package (packages.yml) and run dbt deps")
        self.relations = relations
        self.source = {"kind": "dbt", "project_dir": str(project_dir.resolve()), "adapter": adapter,
                       "target": target or "(default)"}
        self._runner = dbtRunner(manifest=manifest, callbacks=[self._collect])

    def _collect(self, event: Any) -> None:
        if event.info.level == "error" and event.info.msg:
            self._errors.append(str(event.info.msg))

    def _why(self, result: Any) -> str:
        if result.exception is not None:
            return _one_line(result.exception)
        messages = [getattr(r, "message", None) for r in getattr(result.result, "results", None) or ()]
        messages = [m for m in messages if m] + self._errors
        return _one_line(messages[0]) if messages else "see dbt's log"

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        if re.search(r"\{%-?\s*endraw", sql):
            raise ReportError("a query contains {% endraw %}; it cannot be passed to dbt show")
        self._errors.clear()
        shown = self._runner.invoke(["show", "--inline", "{% raw %}" + sql + "{% endraw %}", "--limit", "-1",
                                     "--log-level", "none", *self._args])
        if not shown.success or shown.result is None or not shown.result.results:
            raise ReportError(f"dbt show failed: {self._why(shown)}")
        table = shown.result.results[0].agate_table
        return list(table.column_names), [tuple(plain(v) for v in row) for row in table.rows]

    def close(self) -> None:
        """dbt closes its connections at the end of each invocation."""
