"""One dbt invocation against Databricks (dbt-databricks), statement by statement, as
system.query.history keeps it, and the node results dbt hands to the on-run-end upload.

How a statement names its dbt run depends on the project: the package's query comment in
`statement_text`, the query tags its hooks set, both, or neither (then only a node result's
`adapter_response.query_id` names the node's main statement).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pipeline_costs import comment as qc
from pipeline_costs.databricks_catalog import CATALOG, Warehouse
from pipeline_costs.databricks_rows import Statement
from pipeline_costs.dbt_runs import (
    UNDEFINED_MACRO,
    DbtInvocation,
    DbtRunner,
    NodeResult,
    new_uuid,
    node_error,
    randint,
)
from pipeline_costs.project import Node, seed_row_count

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


@dataclass(kw_only=True)
class DatabricksInvocation(DbtInvocation):
    """A dbt invocation against a Databricks SQL warehouse."""

    warehouse: Warehouse
    executed_by: str
    schema: str
    tagging: frozenset[str]  # COMMENT and/or QUERY_TAGS; empty: neither
    job_run: JobRun | None = None
    reports_job_run: bool = False  # dbt-databricks >= 1.12.1 reports job_run_id in adapter_response
    optimize_after: bool = False  # a post-hook OPTIMIZEs every table (not the statement dbt reports)
    scan_factor: float = 0.4


class DatabricksRunner(DbtRunner):
    """Turns a DatabricksInvocation into its statements."""

    inv: DatabricksInvocation

    def __init__(self, inv: DatabricksInvocation, rng: random.Random) -> None:
        super().__init__(inv, rng)
        self.statements: list[Statement] = []
        self.reported: dict[str, str] = {}  # node id -> adapter_response.query_id
        self._sessions: dict[int, str] = {}
        self._node_run: list[Statement] = []  # the statements of the node being run

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
        self._build()
        return self.statements

    def _metadata(self, t: int) -> int:
        inv = self.inv
        for sql in (f"show schemas in `{CATALOG}`",
                    f"show table extended in `{CATALOG}`.`{inv.schema}` like '*'"):
            statement = self._statement(t, 0, sql, "SHOW", None, metadata=True)
            t = statement.end_ms + randint(self.rng, 30, 300)
        return t

    def _compile_error(self, node: Node) -> str:
        return node_error("Compilation", node, UNDEFINED_MACRO)

    def _report(self, node: Node, result: NodeResult) -> None:
        statements = self._node_run
        failed = [s for s in statements if s.status != "FINISHED"]
        if failed:
            result.status = "error"  # no adapter_response for a failed (or cancelled) node
            result.message = node_error("Database", node, failed[-1].error_message or "")
            return
        main = statements[0] if self.inv.optimize_after and len(statements) > 1 else statements[-1]
        self.reported[node.unique_id] = main.statement_id
        if node.resource_type == "seed":
            result.adapter_code, result.rows_affected = "INSERT", seed_row_count(node)
        elif node.resource_type == "test":
            result.adapter_code = "OK"
            self._test_outcome(result)
        else:
            result.adapter_code, result.message = "OK", "OK"

    def _node(self, node: Node, t: int, thread: int) -> int:
        inv, rng = self.inv, self.rng
        scanned = int(node.scanned_bytes * inv.scan_factor * rng.lognormvariate(0.0, 0.2))
        steps = self._steps(node, scanned)
        if inv.optimize_after and node.resource_type == "model":
            steps.append((f"optimize {self._table(node.name)} zorder by (id)", "OPTIMIZE", scanned // 4))
        statements = self._node_run = []
        for sql, statement_type, size in steps:
            statement = self._statement(t, thread, sql, statement_type, node, scanned=size)
            statements.append(statement)
            t = statement.end_ms + randint(rng, 5, 50)
        self._fail(node, statements[-1])
        return statements[-1].end_ms

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

    def _upload_statement(self, table: str, count: int, t: int, failed: bool) -> int:
        inv = self.inv
        sql = (f"insert into `{CATALOG}`.`{inv.schema}_pipeline_costs`.`{table}`\n"
               f"  values (...)  -- {count} row(s) of invocation {inv.invocation_id}")
        statement = self._statement(t, 0, sql, "INSERT", None)
        if failed:
            statement.status = "FAILED"
            statement.error_message = (f"[INSUFFICIENT_PERMISSIONS] User does not have MODIFY on Table "
                                       f"'{CATALOG}.{inv.schema}_pipeline_costs.{table}'. SQLSTATE: 42501")
        return statement.end_ms
