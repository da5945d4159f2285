"""One dbt invocation against Databricks (dbt-databricks), statement by statement, as
system.query.history keeps it, and the node results dbt hands to the on-run-end upload.

How a statement names its dbt run depends on the project: the package's query comment in
`statement_text`, the query tags its hooks set, both, or neither (then only a node result's
`adapter_response.query_id` names the node's main statement).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipeline_costs import comment as qc
from pipeline_costs.databricks_catalog import CATALOG, Warehouse
from pipeline_costs.databricks_rows import Statement
from pipeline_costs.dbt_runs import REUSED_MESSAGE, NodeResult, new_uuid, randint
from pipeline_costs.project import BROKEN_MODEL, PROJECT_NAME, Node, seed_row_count

BYTES_PER_MS = 1_200_000  # one warehouse cluster's scan rate
CLIENT = "Databricks Dbt"
COMMENT = "comment"
QUERY_TAGS = "query_tags"
UNRESOLVED = ("[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column, variable, or function parameter with name "
              "`spend_usd` cannot be resolved. Did you mean one of the following? [`spend`, `channel`]. "
              "SQLSTATE: 42703")


@dataclass(frozen=True)
class JobRun:
    """The Databricks job run whose dbt task ran an invocation."""

    job_id: str
    job_run_id: str
    task_run_id: str


@dataclass
class DatabricksInvocation:
    env: Mapping[str, str]
    target: str
    command: str
    run_started_us: int
    warehouse: Warehouse
    executed_by: str
    schema: str
    nodes: tuple[Node, ...]
    invocation_id: str
    tagging: frozenset[str]  # COMMENT and/or QUERY_TAGS; empty: neither
    dbt_project: str = PROJECT_NAME
    threads: int = 4
    plants: frozenset[str] = frozenset()
    fail_rate: float = 0.0
    reused: frozenset[str] = frozenset()
    selectors: tuple[str, ...] | None = None
    is_full_refresh: bool = False
    job_run: JobRun | None = None
    reports_job_run: bool = False  # dbt-databricks >= 1.12.1 reports job_run_id in adapter_response
    optimize_after: bool = False  # a post-hook OPTIMIZEs every table (not the statement dbt reports)
    scan_factor: float = 0.4
    test_fail_rate: float = 0.03

    @property
    def run_started_at(self) -> datetime:
        return datetime.fromtimestamp(self.run_started_us / 1_000_000, tz=UTC)

    def context(self) -> dict[str, str]:
        return qc.pipeline_context(self.env, project=self.dbt_project, target=self.target, command=self.command,
                                   invocation_id=self.invocation_id)


@dataclass
class DatabricksRunner:
    inv: DatabricksInvocation
    rng: random.Random
    statements: list[Statement] = field(default_factory=list)
    results: list[NodeResult] = field(default_factory=list)
    reported: dict[str, str] = field(default_factory=dict)  # node id -> adapter_response.query_id
    run_ended_ms: int | None = None
    upload_end_ms: int | None = None
    uploaded: bool = False

    def __post_init__(self) -> None:
        self.ctx = self.inv.context()
        self._sessions: dict[int, str] = {}
        self._head = qc.comment_fields({
            "invocation_id": self.inv.invocation_id, "project": self.inv.dbt_project, "target": self.inv.target,
            "command": self.inv.command, "run_started_at": self.inv.run_started_at,
        })

    # -- statements ---------------------------------------------------------------------------------
    def _statement(self, t: int, thread: int, sql: str, statement_type: str, node: Node | None, *,
                   scanned: int = 0, metadata: bool = False) -> Statement:
        rng, inv = self.rng, self.inv
        waiting = randint(rng, 0, 400)
        compile_ms = randint(rng, 10, 80) if metadata else randint(rng, 40, 600)
        run_ms = int(scanned / BYTES_PER_MS * rng.uniform(0.8, 1.25)) + randint(rng, 150, 1200)
        start = t + randint(rng, 5, 60)
        text = qc.with_comment(self._comment(node), sql) if COMMENT in inv.tagging else sql
        statement = Statement(
            statement_id=new_uuid(rng), workspace_id=inv.warehouse.workspace_id, session_id=self._session(thread),
            compute_type="WAREHOUSE", compute_id=inv.warehouse.warehouse_id, executed_by=inv.executed_by,
            statement_text=text, statement_type=statement_type, client_application=CLIENT, start_ms=start,
            end_ms=start + waiting + compile_ms + run_ms, compilation_ms=compile_ms,
            task_ms=None if metadata else int(run_ms * rng.uniform(2, 24)) if scanned else randint(rng, 0, 300),
            fetch_ms=None if metadata else randint(rng, 0, 40), waiting_ms=waiting, read_bytes=scanned,
            read_rows=scanned // 180, written_bytes=scanned // 6 if statement_type != "SELECT" else 0,
            produced_rows=randint(rng, 0, 20) if statement_type == "SELECT" else 0,
            job_info=None if inv.job_run is None else (
                inv.job_run.job_id, inv.job_run.job_run_id, inv.job_run.task_run_id),
        )
        self._tag(statement, node)
        self.statements.append(statement)
        return statement

    def _session(self, thread: int) -> str:
        if thread not in self._sessions:
            self._sessions[thread] = new_uuid(self.rng)
        return self._sessions[thread]

    def _comment(self, node: Node | None) -> str:
        node_fields = ({"node_id": node.unique_id, "resource_type": node.resource_type,
                        "package": self.inv.dbt_project} if node is not None else {})
        return qc.dump_comment({**self._head, **node_fields, **self.ctx})

    def _tag(self, statement: Statement, node: Node | None) -> None:
        """Query tags (the package's hooks) and the bookkeeping of what the statement names."""
        inv, ctx = self.inv, self.ctx
        if QUERY_TAGS in inv.tagging:
            tags = {"dbt_invocation_id": inv.invocation_id, "dbt_pipeline_id": ctx["pipeline_id"],
                    "dbt_pipeline_run_id": ctx["pipeline_run_id"]}
            statement.query_tags = tags if node is None else {**tags, "dbt_node_id": node.unique_id}
        if not inv.tagging:
            return
        statement.source = COMMENT if COMMENT in inv.tagging else QUERY_TAGS
        statement.invocation_id = inv.invocation_id
        statement.node_id = node.unique_id if node is not None else None
        statement.pipeline_id = ctx["pipeline_id"]
        statement.pipeline_run_id = ctx["pipeline_run_id"]
        statement.orchestrator = ctx["orchestrator"] if COMMENT in inv.tagging else None  # not a query tag

    # -- the invocation -----------------------------------------------------------------------------
    def run(self) -> list[Statement]:
        inv, rng = self.inv, self.rng
        t = inv.run_started_us // 1000 + randint(rng, 800, 4000)
        t = self._metadata(t)
        free = [t] * inv.threads
        done_at: dict[str, int] = {}
        failed: set[str] = set()
        for node in inv.nodes:
            k = min(range(len(free)), key=free.__getitem__)
            ready = free[k]
            for upstream in node.upstream:
                ready = max(ready, done_at.get(upstream, ready))
            start = ready + randint(rng, 20, 400)
            if node.name in inv.reused:
                end = start + randint(rng, 1, 8)
                self.results.append(NodeResult(node, "reused", k, message=REUSED_MESSAGE))
            elif any(upstream in failed for upstream in node.upstream):
                end = start + randint(rng, 1, 5)
                failed.add(node.name)
                self.results.append(NodeResult(node, "skipped", k))
            else:
                result = self._execute(node, start, k)
                end = result.execute_ms[1] if result.execute_ms else result.compile_ms[1]  # type: ignore[index]
                if result.status == "error":
                    failed.add(node.name)
            done_at[node.name] = end
            free[k] = end + randint(rng, 10, 200)
        self._upload(max(free) + randint(rng, 50, 400))
        return self.statements

    def _metadata(self, t: int) -> int:
        inv = self.inv
        for sql in (f"show schemas in `{CATALOG}`",
                    f"show table extended in `{CATALOG}`.`{inv.schema}` like '*'"):
            statement = self._statement(t, 0, sql, "SHOW", None, metadata=True)
            t = statement.end_ms + randint(self.rng, 30, 300)
        return t

    def _execute(self, node: Node, start: int, thread: int) -> NodeResult:
        rng = self.rng
        compiled = start + randint(rng, 5, 120)
        result = NodeResult(node, "success", thread, compile_ms=(start, compiled))
        self.results.append(result)
        if node.name == BROKEN_MODEL:
            result.status = "error"
            result.message = (f"Compilation Error in {node.resource_type} {node.name} ({node.original_file_path})\n"
                              "  'forecast_horizon' is undefined.")
            result.execution_time_s = (compiled - start) / 1000
            return result
        executing = compiled + randint(rng, 1, 10)
        statements = self._node_statements(node, executing, thread)
        done = statements[-1].end_ms + randint(rng, 5, 60)
        result.execute_ms = (executing, done)
        result.execution_time_s = (done - start) / 1000
        failed = [s for s in statements if s.status != "FINISHED"]
        if failed:
            result.status = "error"  # no adapter_response for a failed (or cancelled) node
            result.message = (f"Database Error in {node.resource_type} {node.name} ({node.original_file_path})\n"
                              f"  {failed[-1].error_message}")
            return result
        main = statements[0] if self.inv.optimize_after and len(statements) > 1 else statements[-1]
        self.reported[node.unique_id] = main.statement_id
        if node.resource_type == "seed":
            result.adapter_code, result.rows_affected = "INSERT", seed_row_count(node)
        elif node.resource_type == "test":
            result.adapter_code = "OK"
            failures = randint(rng, 1, 40) if rng.random() < self.inv.test_fail_rate else 0
            result.status, result.failures = ("fail", failures) if failures else ("pass", 0)
            result.message = f"Got {failures} results, configured to fail if != 0" if failures else None
        else:
            result.adapter_code, result.message = "OK", "OK"
        return result

    def _node_statements(self, node: Node, t: int, thread: int) -> list[Statement]:
        inv, rng = self.inv, self.rng
        scanned = int(node.scanned_bytes * inv.scan_factor * rng.lognormvariate(0.0, 0.2))
        steps = self._steps(node, scanned)
        if inv.optimize_after and node.resource_type == "model":
            steps.append((f"optimize {self._table(node.name)} zorder by (id)", "OPTIMIZE", scanned // 4))
        statements = []
        for sql, statement_type, size in steps:
            statement = self._statement(t, thread, sql, statement_type, node, scanned=size)
            statements.append(statement)
            t = statement.end_ms + randint(rng, 5, 50)
        self._fail(node, statements[-1])
        return statements

    def _steps(self, node: Node, scanned: int) -> list[tuple[str, str, int]]:
        """(sql, statement type, bytes read) of the statements dbt-databricks runs for a node."""
        target, upstream, tmp = self._table(node.name), self._upstream(node), f"`{node.name}__dbt_tmp`"
        if node.resource_type == "seed":
            return [(f"create table {target} (code string, name string) using delta", "CREATE", 0),
                    (f"insert into {target} values (%s, %s), (%s, %s)", "INSERT", 0)]
        if node.resource_type == "test":
            sql = f"select count(*) as failures from (\n  -- {node.name}\n  select 1 where false\n) dbt_internal_test"
            return [(sql, "SELECT", randint(self.rng, 20, 900) * 1024**2)]
        if node.materialization == "view":
            return [(f"create or replace view {target} as\nselect * from {upstream}", "CREATE", 0)]
        temporary = (f"create or replace temporary view {tmp} as\nselect * from {upstream}", "CREATE", 0)
        if node.materialization == "merge":
            merge = (f"merge into {target} as DBT_INTERNAL_DEST\nusing {tmp} as DBT_INTERNAL_SOURCE\n"
                     "on DBT_INTERNAL_SOURCE.id = DBT_INTERNAL_DEST.id\nwhen matched then update set *\n"
                     "when not matched then insert *")
            return [temporary, (merge, "MERGE", scanned)]
        if node.materialization == "insert_overwrite":
            return [temporary, (f"insert overwrite table {target}\nselect * from {tmp}", "INSERT", scanned)]
        return [(f"create or replace table {target}\nusing delta\nas\nselect * from {upstream}",
                 "CREATE_TABLE_AS_SELECT", scanned)]

    def _table(self, name: str) -> str:
        return f"`{CATALOG}`.`{self.inv.schema}`.`{name}`"

    def _upstream(self, node: Node) -> str:
        return ", ".join(self._table(u.split(".")[-1]) for u in node.upstream) or "range(1)"

    def _fail(self, node: Node, statement: Statement) -> None:
        inv, rng = self.inv, self.rng
        if "node_error" in inv.plants and node.name == "fct_campaign_performance":
            statement.status, statement.error_message = "FAILED", UNRESOLVED
        elif "canceled" in inv.plants and node.name == "fct_attribution":
            # cancelled by an operator mid-way: the warehouse worked until then
            statement.status = "CANCELED"
            statement.error_message = "Query has been cancelled by the user."
            return
        elif node.resource_type != "test" and inv.fail_rate and rng.random() < inv.fail_rate:
            statement.status, statement.error_message = "FAILED", UNRESOLVED
        else:
            return
        statement.end_ms = statement.start_ms + statement.waiting_ms + (statement.compilation_ms or 0) + randint(
            rng, 100, 900)
        statement.task_ms, statement.fetch_ms, statement.written_bytes = randint(rng, 0, 200), 0, 0

    def _upload(self, t: int) -> None:
        """On-run-end: one INSERT per package-owned table (no node: dbt_without_node statements)."""
        inv, rng = self.inv, self.rng
        self.run_ended_ms = t
        failed = "upload_failed" in inv.plants
        counts = {"dbt_node_results": len(self.results), "dbt_invocations": 1}
        t += randint(rng, 5, 40)
        for table, count in counts.items():
            if not count:
                continue
            sql = (f"insert into `{CATALOG}`.`{inv.schema}_pipeline_costs`.`{table}`\n"
                   f"  values (...)  -- {count} row(s) of invocation {inv.invocation_id}")
            statement = self._statement(t, 0, sql, "INSERT", None)
            if failed:
                statement.status = "FAILED"
                statement.error_message = (f"[INSUFFICIENT_PERMISSIONS] User does not have MODIFY on Table "
                                           f"'{CATALOG}.{inv.schema}_pipeline_costs.{table}'. SQLSTATE: 42501")
            t = statement.end_ms + randint(rng, 20, 200)
            self.upload_end_ms = statement.end_ms
        self.uploaded = not failed
