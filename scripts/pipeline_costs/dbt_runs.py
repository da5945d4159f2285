"""One dbt invocation against BigQuery, job by job, as dbt-bigquery leaves it in JOBS, and the
node results dbt hands to the on-run-end hook (the package's upload_run_results).

Per-row Python: dbt jobs are the small part of the volume. Every job carries the bookkeeping
(invocation, node, pipeline) the ground truth is computed from.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from pipeline_costs import comment as qc
from pipeline_costs.project import BROKEN_MODEL, PROJECT_NAME, Node, seed_row_count
from pipeline_costs.rows import Job, TableRef

MiB = 1024**2
MIN_BILLED = 10 * MiB
BYTES_PER_SLOT_MS = 3500


def randint(rng: random.Random, a: int, b: int) -> int:
    """random.randint, minus its overhead (the dbt part is per-row Python)."""
    return a + int(rng.random() * (b - a + 1))


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hex_id(rng: random.Random, nchars: int) -> str:
    return f"{rng.getrandbits(4 * nchars):0{nchars}x}"


def billed_bytes(processed: int) -> int:
    """On-demand bytes billed of a query that read tables: rounded up to the MiB, at least 10 MiB."""
    return max(-(-processed // MiB) * MiB, MIN_BILLED)


def query_hash(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    edition: str | None


@dataclass(kw_only=True)
class DbtInvocation:
    """A dbt invocation the simulation decided to run, on any adapter, and the environment it ran in."""

    env: Mapping[str, str]
    target: str
    command: str
    run_started_us: int  # epoch microseconds (dbt's run_started_at)
    nodes: tuple[Node, ...]
    invocation_id: str
    dbt_project: str = PROJECT_NAME
    threads: int = 4
    plants: frozenset[str] = frozenset()
    fail_rate: float = 0.0
    reused: frozenset[str] = frozenset()  # state-aware orchestration: nodes reused, no statements
    selectors: tuple[str, ...] | None = None  # --select of the invocation
    is_full_refresh: bool = False
    test_fail_rate: float = 0.03

    @property
    def runs_hooks(self) -> bool:
        """dbt runs on-run-end (the upload) for every command but run-operation."""
        return self.command != "run-operation"

    @property
    def run_started_at(self) -> datetime:
        return datetime.fromtimestamp(self.run_started_us / 1_000_000, tz=UTC)

    def context(self) -> dict[str, str]:
        return qc.pipeline_context(self.env, project=self.dbt_project, target=self.target, command=self.command,
                                   invocation_id=self.invocation_id)


@dataclass(kw_only=True)
class Invocation(DbtInvocation):
    """A dbt invocation against BigQuery."""

    gcp_project: str
    location: str
    user_email: str
    dataset: str
    reservation: Reservation | None = None
    scan_multipliers: Mapping[str, float] = field(default_factory=dict)
    custom_comment: str | None = None  # a user's own (non-package, non-JSON) query comment
    metadata_queries: int = 2
    jobs_in_logs: bool = True  # False: its project's JOBS are not read (only its run results exist)


@dataclass
class Planted:
    """A planted case, for ground_truth.planted_cases."""

    case: str
    project_id: str
    location: str
    job_id: str
    note: str = ""


@dataclass(slots=True)
class NodeResult:
    """One entry of dbt's `results` for a node (what the on-run-end upload receives)."""

    node: Node
    status: str  # success | error | skipped | reused | pass | fail | warn
    thread: int  # 0-based worker thread
    compile_ms: tuple[int, int] | None = None
    execute_ms: tuple[int, int] | None = None
    execution_time_s: float = 0.0
    main_job: Job | None = None  # the statement whose adapter_response dbt reports
    report_job_id: bool = True  # False for seeds: dbt-bigquery reports no job for a load
    adapter_code: str | None = None
    rows_affected: int | None = None
    message: str | None = None
    failures: int | None = None


@dataclass
class Usage:
    duration_ms: int
    processed: int | None
    billed: int | None
    slot_ms: int | None


def query_usage(rng: random.Random, scanned: int, *, ddl: bool = False) -> Usage:
    if ddl:
        return Usage(randint(rng, 300, 1500), 0, 0, 0)
    duration = int(500 + scanned / 1.5e9 * 1000 * rng.uniform(0.85, 1.15)) + randint(rng, 0, 1500)
    # slot time is proportional to the work (~3.5 MB per slot-ms), at least one slot busy throughout
    slot_ms = max(duration, int(scanned / BYTES_PER_SLOT_MS * rng.uniform(0.95, 1.05)))
    return Usage(duration, scanned, billed_bytes(scanned), slot_ms)


class DbtRunner:
    """What dbt does the same on every adapter: the order it runs the nodes in (threads, upstream
    nodes, reused and skipped ones), compiling, a test's outcome, the package's query comment and the
    on-run-end upload. The adapter's runner issues the statements (the hooks below)."""

    inv: DbtInvocation

    def __init__(self, inv: DbtInvocation, rng: random.Random) -> None:
        self.inv = inv
        self.rng = rng
        self.ctx = inv.context()
        # The macro's dict in its key order, pre-split: invocation part, node part, pipeline part.
        self._head = qc.comment_fields({
            "invocation_id": inv.invocation_id,
            "project": inv.dbt_project,
            "target": inv.target,
            "command": inv.command,
            "run_started_at": inv.run_started_at,
        })
        self.results: list[NodeResult] = []
        self.stopped = False  # a statement was cancelled by the user (Ctrl-C): dbt stops
        self.cancelled = False
        self.run_ended_ms: int | None = None  # when on-run-end started (the upload's run_ended_at)
        self.upload_end_ms: int | None = None  # when the upload's last statement ended
        self.uploaded = False

    # -- the adapter's part -----------------------------------------------------------------------
    def _metadata(self, t: int) -> int:
        """The statements dbt runs before the first node (from t); returns when the last ended."""
        raise NotImplementedError

    def _node(self, node: Node, t: int, thread: int) -> int:
        """Runs one node's statements from t; returns when its last statement ended."""
        raise NotImplementedError

    def _report(self, node: Node, result: NodeResult) -> None:
        """The node's status, message and adapter_response, from the statements _node ran."""
        raise NotImplementedError

    def _compile_error(self, node: Node) -> str:
        raise NotImplementedError

    def _upload_statement(self, table: str, count: int, t: int, failed: bool) -> int:
        """The upload's INSERT of count rows into a package-owned table; returns when it ended."""
        raise NotImplementedError

    # -- the comment ------------------------------------------------------------------------------
    def _comment(self, node: Node | None) -> str:
        """The package's query comment of this invocation's statements for a node (None: no node)."""
        node_fields = ({"node_id": node.unique_id, "resource_type": node.resource_type,
                        "package": self.inv.dbt_project} if node is not None else {})
        return qc.dump_comment({**self._head, **node_fields, **self.ctx})

    # -- the invocation ---------------------------------------------------------------------------
    def _build(self) -> None:
        inv, rng = self.inv, self.rng
        t = inv.run_started_us // 1000 + randint(rng, 800, 4000)
        t = self._metadata(t)
        free = [t] * inv.threads
        done_at: dict[str, int] = {}
        failed: set[str] = set()  # nodes of this run that errored or were skipped
        for node in inv.nodes:
            k = min(range(len(free)), key=free.__getitem__)
            ready = free[k]
            for upstream in node.upstream:  # dbt starts a node once its upstream nodes are done
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
            if self.stopped:
                self.cancelled = True  # the user pressed Ctrl-C: no on-run-end hooks, no upload
                return
        if inv.runs_hooks:
            self._upload(max(free) + randint(rng, 50, 400))

    def _execute(self, node: Node, start: int, thread: int) -> NodeResult:
        """Compiles then executes one node; its result (and its statements) are recorded."""
        rng = self.rng
        compiled = start + randint(rng, 5, 120)
        result = NodeResult(node, "success", thread, compile_ms=(start, compiled))
        self.results.append(result)
        if node.name == BROKEN_MODEL:
            result.status = "error"
            result.message = self._compile_error(node)
            result.execution_time_s = (compiled - start) / 1000
            return result
        executing = compiled + randint(rng, 1, 10)
        done = self._node(node, executing, thread) + randint(rng, 5, 60)
        result.execute_ms = (executing, done)
        result.execution_time_s = (done - start) / 1000
        self._report(node, result)
        return result

    def _test_outcome(self, result: NodeResult) -> None:
        """A test passes, or fails with some rows (the invocation's test_fail_rate)."""
        rng = self.rng
        if rng.random() < self.inv.test_fail_rate:
            result.status, result.failures = "fail", randint(rng, 1, 40)
            result.message = f"Got {result.failures} results, configured to fail if != 0"
        else:
            result.status, result.failures = "pass", 0

    def _upload(self, t: int) -> None:
        """The on-run-end hook: one INSERT per package-owned table (no node: dbt_without_node statements)."""
        rng = self.rng
        self.run_ended_ms = t
        failed = "upload_failed" in self.inv.plants
        rows = {"dbt_node_results": len(self.results), "dbt_invocations": 1}  # the hook's order
        t += randint(rng, 5, 40)
        for table, count in rows.items():
            if not count:
                continue
            end = self._upload_statement(table, count, t, failed)
            t = end + randint(rng, 20, 200)
            self.upload_end_ms = end
        self.uploaded = not failed

    def uploaded_by(self, as_of_ms: int, end_ms: int) -> bool:
        """Whether the upload succeeded, and ended within the period and by as_of (its rows are there)."""
        end = self.upload_end_ms
        return self.uploaded and end is not None and end <= as_of_ms and end < end_ms


class InvocationRunner(DbtRunner):
    """Turns an Invocation into its jobs (and the planted cases it contains)."""

    inv: Invocation

    def __init__(self, inv: Invocation, rng: random.Random, arrival: ArrivalModel) -> None:
        super().__init__(inv, rng)
        self.arrival = arrival
        self.jobs: list[Job] = []
        self.planted: list[Planted] = []
        self._head_labels = qc.labels_from_fields(self._head, inv.invocation_id)[:-1]
        self._tail_labels = qc.labels_from_fields(self.ctx, inv.invocation_id)
        self._marks: dict[str | None, tuple[str, list[qc.Label]]] = {}
        self._main: Job | None = None  # the statement of the node being run whose response dbt keeps

    def _mark(self, node: Node | None) -> tuple[str, list[qc.Label]]:
        """(comment, labels) of this invocation's queries for a node (None: no node), cached."""
        key = node.unique_id if node is not None else None
        cached = self._marks.get(key)
        if cached is None:
            comment = self._comment(node)
            labels = self._head_labels + _node_labels(node, self.inv.dbt_project) + self._tail_labels
            cached = self._marks[key] = (comment, labels)
        return cached

    # -- comment / labels / bookkeeping ---------------------------------------------------------
    def _marked(self, job: Job, node: Node | None, *, corrupt: bool = False) -> Job:
        inv = self.inv
        if inv.custom_comment is not None:
            comment = inv.custom_comment
            job.labels = qc.labels_from_comment(comment, inv.invocation_id)
            job.query = qc.with_comment(comment, job.query or "")
            # no package comment: the labels give the invocation, nothing else
            job.invocation_id = inv.invocation_id
            job.source = "label"
            return job
        comment, job.labels = self._mark(node)
        sql = job.query or ""
        if corrupt:
            # Something rewrote the query and cut the comment: not JSON any more, labels intact.
            job.query = f"/* {comment[: len(comment) // 2]} */\n{sql}"
            job.invocation_id = inv.invocation_id
            job.node_id = qc.sanitize_label(node.unique_id) if node is not None else None
            job.pipeline_id = qc.sanitize_label(self.ctx["pipeline_id"])
            job.pipeline_run_id = qc.sanitize_label(self.ctx["pipeline_run_id"])
            job.orchestrator = qc.sanitize_label(self.ctx["orchestrator"])
            job.source = "label"
            return job
        job.query = f"/* {comment} */\n{sql}"
        job.invocation_id = inv.invocation_id
        job.node_id = node.unique_id if node is not None else None
        job.pipeline_id = self.ctx["pipeline_id"]
        job.pipeline_run_id = self.ctx["pipeline_run_id"]
        job.orchestrator = self.ctx["orchestrator"]
        job.source = "comment"
        return job

    def _job(self, creation_ms: int, usage: Usage, sql: str | None, **kw: object) -> Job:
        inv = self.inv
        queue = randint(self.rng, 20, 400) if inv.reservation is None else randint(self.rng, 50, 3000)
        start = creation_ms + queue
        job = Job(
            job_id=new_uuid(self.rng),
            project_id=inv.gcp_project,
            location=inv.location,
            user_email=inv.user_email,
            creation_ms=creation_ms,
            start_ms=start,
            end_ms=start + usage.duration_ms,
            arrival_ms=creation_ms + self.arrival.delay_ms(self.rng),
            query=sql,
            bytes_processed=usage.processed,
            bytes_billed=usage.billed,
            slot_ms=usage.slot_ms,
            reservation_id=inv.reservation.reservation_id if inv.reservation else None,
            edition=inv.reservation.edition if inv.reservation else None,
            query_hash=query_hash(sql) if sql else None,
        )
        for key, value in kw.items():
            setattr(job, key, value)
        return job

    def _ref(self, name: str) -> TableRef:
        if "." in name:
            dataset, table = name.split(".", 1)
            return (self.inv.gcp_project, dataset, table)
        return (self.inv.gcp_project, self.inv.dataset, name)

    def _fqn(self, name: str) -> str:
        project, dataset, table = self._ref(name)
        return f"`{project}`.`{dataset}`.`{table}`"

    # -- the invocation ---------------------------------------------------------------------------
    def run(self) -> list[Job]:
        self._build()
        return self.jobs

    def _report(self, node: Node, result: NodeResult) -> None:
        rng = self.rng
        main = self._main
        result.main_job = main
        if main is not None and main.error_reason is not None and main.error_reason != "stopped":
            result.status = "error"  # dbt reports no adapter_response for a failed node
            result.message = _database_error(node, main.error_message or "")
            result.main_job = None
            return
        if node.resource_type == "seed":
            rows = seed_row_count(node)
            result.report_job_id, result.adapter_code, result.rows_affected = False, "INSERT", rows
            result.message = f"INSERT {rows}"
        elif node.resource_type == "test":
            result.adapter_code, result.rows_affected = "SELECT", 1
            self._test_outcome(result)
        elif node.resource_type == "source":
            result.adapter_code, result.rows_affected = "SELECT", 1
            result.status = rng.choices(("pass", "warn", "error"), weights=(85, 10, 5))[0]
        elif main is not None:
            code, rows = _adapter_code_rows(main, rng)
            result.adapter_code, result.rows_affected = code, rows
            result.message = _adapter_message(code, rows, main.bytes_processed)

    def _compile_error(self, node: Node) -> str:
        return _compile_error(node, long="long_message" in self.inv.plants)

    def _upload_statement(self, table: str, count: int, t: int, failed: bool) -> int:
        inv, rng = self.inv, self.rng
        sql = (f"insert into `{inv.gcp_project}`.`{inv.dataset}_pipeline_costs`.`{table}`\n"
               f"  select * from unnest(@rows)  -- {count} row(s) of invocation {inv.invocation_id}")
        job = self._job(t, Usage(randint(rng, 300, 1500), 0, 0, randint(rng, 20, 400)), sql,
                        statement_type="INSERT", dml=(count, 0, 0))
        if failed:
            job.error_reason, job.dml = "accessDenied", None
            job.error_message = (f"Access Denied: Table {inv.gcp_project}:{inv.dataset}_pipeline_costs.{table}: "
                                 "Permission bigquery.tables.updateData denied on table (or it may not exist).")
            self.planted.append(Planted("upload_failed", job.project_id, job.location, job.job_id,
                                        inv.invocation_id))
        self.jobs.append(self._marked(job, None))
        return job.end_ms

    def _metadata(self, t: int) -> int:
        inv = self.inv
        queries = [
            (
                f"select schema_name from `{inv.gcp_project}`.`region-{inv.location}`.INFORMATION_SCHEMA.SCHEMATA",
                "SELECT",
                randint(self.rng, 1, 30) * MiB,
            ),
            (f"create schema if not exists `{inv.gcp_project}`.`{inv.dataset}`", "CREATE_SCHEMA", 0),
            (
                f"select table_name, table_type from `{inv.gcp_project}`.`{inv.dataset}`.INFORMATION_SCHEMA.TABLES",
                "SELECT",
                randint(self.rng, 1, 5) * MiB,
            ),
            (
                f"select column_name, data_type from `{inv.gcp_project}`.`{inv.dataset}`.INFORMATION_SCHEMA.COLUMNS",
                "SELECT",
                randint(self.rng, 1, 8) * MiB,
            ),
        ]
        for sql, statement_type, scanned in queries[: inv.metadata_queries]:
            usage = query_usage(self.rng, scanned, ddl=scanned == 0)
            job = self._job(t, usage, sql, statement_type=statement_type)
            self.jobs.append(self._marked(job, None))
            t = job.end_ms + randint(self.rng, 30, 300)
        return t

    def _scanned(self, node: Node) -> int:
        factor = self.rng.lognormvariate(0.0, 0.1) * self.inv.scan_multipliers.get(node.name, 1.0)
        return int(node.scanned_bytes * factor)

    def _slowed(self, node: Node, usage: Usage) -> Usage:
        """A planted slow model runs longer for the same bytes (at least one slot busy throughout)."""
        if node.extra_seconds is None:
            return usage
        usage.duration_ms += randint(self.rng, *node.extra_seconds) * 1000
        usage.slot_ms = max(usage.slot_ms or 0, usage.duration_ms)
        return usage

    def _node(self, node: Node, t: int, thread: int) -> int:
        self._main = None
        if node.resource_type == "seed":
            return self._seed(node, t)
        if node.resource_type == "source":
            return self._freshness(node, t)
        if node.resource_type == "test":
            return self._test(node, t)
        if node.materialization == "insert_overwrite":
            return self._script(node, t)
        return self._model(node, t)

    def _seed(self, node: Node, t: int) -> int:
        # dbt-bigquery loads seeds with a LOAD job: no query, no labels, no bytes billed.
        duration = randint(self.rng, 1500, 6000)
        job = self._job(
            t, Usage(duration, None, None, randint(self.rng, 100, 2000)), None,
            job_type="LOAD", statement_type=None, cache_hit=None, destination=self._ref(node.name),
            reservation_id=None, edition=None,
        )
        self.jobs.append(job)
        self._main = job
        return job.end_ms

    def _freshness(self, node: Node, t: int) -> int:
        sql = (f"select max(_loaded_at) as max_loaded_at, current_timestamp() as snapshotted_at\n"
               f"from {self._fqn(f'{node.source_name}.{node.name}')}")
        job = self._job(t, query_usage(self.rng, randint(self.rng, 1, 12) * MiB), sql)
        job.referenced = [self._ref(f"{node.source_name}.{node.name}")]
        self.jobs.append(self._marked(job, node))
        self._main = job
        return job.end_ms

    def _test(self, node: Node, t: int) -> int:
        inv, rng = self.inv, self.rng
        sql = (
            "select count(*) as failures, count(*) != 0 as should_warn, count(*) != 0 as should_error\n"
            f"from (\n  -- {node.name}\n  select * from {self._fqn(node.upstream[0])} where false\n) dbt_internal_test"
        )
        planted_cache = "dbt_cache_hit" in inv.plants and node is inv.nodes[-1]
        if planted_cache or rng.random() < 0.1:  # same test, unchanged inputs: BigQuery's result cache
            job = self._job(t, Usage(randint(rng, 40, 300), 0, 0, 0), sql, cache_hit=True)
            if planted_cache:
                self.planted.append(Planted("dbt_cache_hit", job.project_id, job.location, job.job_id))
        else:
            usage = query_usage(rng, randint(rng, 20, 900) * MiB)
            job = self._job(t, usage, sql)
        job.referenced = [self._ref(node.upstream[0])]
        self.jobs.append(self._marked(job, node))
        self._main = job
        return job.end_ms

    def _model_sql(self, node: Node) -> tuple[str, str]:
        refs = ", ".join(self._fqn(u) for u in node.upstream)
        target = self._fqn(node.name)
        body = f"select *\n  from {refs}" if refs else "select 1 as id"
        if node.materialization == "view":
            return "CREATE_VIEW", f"create or replace view {target}\n  OPTIONS()\n  as {body};"
        if node.materialization == "merge":
            return "MERGE", (
                f"merge into {target} as DBT_INTERNAL_DEST\n  using (\n  {body}\n  ) as DBT_INTERNAL_SOURCE\n"
                "  on (DBT_INTERNAL_SOURCE.id = DBT_INTERNAL_DEST.id)\n"
                "  when matched then update set id = DBT_INTERNAL_SOURCE.id\n"
                "  when not matched then insert (id) values (id)"
            )
        return "CREATE_TABLE_AS_SELECT", f"create or replace table {target}\n  OPTIONS()\n  as (\n  {body}\n  );"

    def _model(self, node: Node, t: int) -> int:
        inv, rng = self.inv, self.rng
        statement_type, sql = self._model_sql(node)
        refs = [self._ref(u) for u in node.upstream]
        ddl = node.materialization == "view"
        end = t
        attempts = ["backendError", None] if "retry" in inv.plants and node.name == "fct_campaign_performance" else [None]
        for attempt, retry_reason in enumerate(attempts):
            usage = self._slowed(node, query_usage(rng, self._scanned(node), ddl=ddl))
            job = self._job(t, usage, sql, statement_type=statement_type, destination=self._ref(node.name),
                            referenced=refs)
            if statement_type == "MERGE":
                job.dml = (randint(rng, 0, 50_000), 0, randint(rng, 0, 20_000))
            if retry_reason is not None:
                # transient failure, retried by dbt: slots were used, nothing billed on demand
                job.end_ms = job.start_ms + randint(rng, 2000, 20000)
                job.error_reason, job.error_message = retry_reason, "Backend error. Job aborted."
                job.bytes_billed, job.bytes_processed, job.dml = 0, 0, None
                job.slot_ms = (job.end_ms - job.start_ms) * randint(rng, 5, 50)
                self.planted.append(Planted("retry_failed_attempt", job.project_id, job.location, job.job_id,
                                            node.unique_id))
            elif attempt > 0:
                self.planted.append(Planted("retry_success", job.project_id, job.location, job.job_id,
                                            node.unique_id))
            corrupt = node.name == "int_sessions_attributed" and bool(CORRUPT_PLANTS & inv.plants)
            if corrupt:
                # the run that uploads its results resolves the job through adapter_response
                case = "label_fallback" if "corrupt_comment" in inv.plants else "adapter_response_fallback"
                self.planted.append(Planted(case, job.project_id, job.location, job.job_id, node.unique_id))
            self._fail(job, node)
            self.jobs.append(self._marked(job, node, corrupt=corrupt))
            self._main = job
            end = job.end_ms
            t = end + randint(rng, 1000, 5000)
        return end

    def _fail(self, job: Job, node: Node) -> None:
        inv, rng = self.inv, self.rng
        if "node_error" in inv.plants and node.name == "dim_channels":
            # runtime error after scanning: bytes reported, not billable on demand
            job.error_reason, job.error_message = "invalidQuery", NASTY_ERROR
            job.dml = None
            self.planted.append(Planted("node_error", job.project_id, job.location, job.job_id, node.unique_id))
        elif "upstream_error" in inv.plants and node.name == "stg_ad_spend":
            # compile-time error in a view: its downstream nodes are skipped
            job.end_ms = job.start_ms + randint(rng, 200, 900)
            job.error_reason, job.error_message = "invalidQuery", "Unrecognized name: spend_usd at [3:8]"
            job.bytes_processed, job.bytes_billed, job.slot_ms, job.dml = 0, 0, 0, None
            self.planted.append(Planted("upstream_error", job.project_id, job.location, job.job_id, node.unique_id))
        elif "stopped" in inv.plants and node.name == "int_orders_enriched":
            job.end_ms = job.start_ms + (job.end_ms - job.start_ms) // 2 + 1
            job.error_reason = "stopped"
            job.error_message = "Job execution was cancelled: User requested cancellation"
            scanned = (job.bytes_processed or 0) // 3
            job.bytes_processed, job.bytes_billed = scanned, billed_bytes(scanned)
            job.slot_ms = (job.slot_ms or 0) // 2
            self.stopped = True
            self.planted.append(Planted("stopped", job.project_id, job.location, job.job_id, node.unique_id))
        elif inv.fail_rate and rng.random() < inv.fail_rate:
            # compile-time error: nothing scanned
            job.end_ms = job.start_ms + randint(rng, 200, 900)
            job.error_reason, job.error_message = "invalidQuery", "Unrecognized name: amount_usd at [4:10]"
            job.bytes_processed, job.bytes_billed, job.slot_ms, job.dml = 0, 0, 0, None

    def _script(self, node: Node, t: int) -> int:
        """insert_overwrite: a SCRIPT parent (comment + labels) running 2-4 unlabelled children."""
        rng = self.rng
        target = self._fqn(node.name)
        tmp_name = f"{node.name}__dbt_tmp"
        tmp = self._fqn(tmp_name)
        refs = [self._ref(u) for u in node.upstream]
        scanned = self._scanned(node)
        children: list[tuple[str, str, int, list[TableRef]]] = [
            (
                "CREATE_TABLE_AS_SELECT",
                (
                    f"create or replace table {tmp}\n  OPTIONS(expiration_timestamp=TIMESTAMP_ADD(CURRENT_TIMESTAMP(), "
                    f"INTERVAL 12 hour))\n  as (\n  select * from {', '.join(self._fqn(u) for u in node.upstream)}\n  )"
                ),
                scanned,
                refs,
            )
        ]
        if rng.random() < 0.7:
            children.append((
                "SELECT",
                (
                    "set (dbt_partitions_for_replacement) = (\n  select as struct\n"
                    f"  array_agg(distinct date(updated_at) IGNORE NULLS)\n  from {tmp}\n)"
                ),
                randint(rng, 1, 40) * MiB,
                [self._ref(tmp_name)],
            ))
        children.append((
            "MERGE",
            (
                f"merge into {target} as DBT_INTERNAL_DEST\n  using (select * from {tmp}) as DBT_INTERNAL_SOURCE\n"
                "  on FALSE\n  when not matched by source\n"
                "    and date(DBT_INTERNAL_DEST.updated_at) in unnest(dbt_partitions_for_replacement)\n"
                "    then delete\n  when not matched then insert row"
            ),
            int(scanned * rng.uniform(0.2, 0.4)),
            [self._ref(tmp_name), self._ref(node.name)],
        ))
        if rng.random() < 0.7:
            children.append(("DROP_TABLE", f"drop table if exists {tmp}", 0, []))
        script_sql = (
            "-- generated script to merge partitions into " + target + "\n"
            "declare dbt_partitions_for_replacement array<date>;\n\n"
            + ";\n\n".join(sql for _, sql, _, _ in children)
            + ";"
        )
        parent = self._job(t, Usage(0, 0, 0, 0), script_sql, statement_type="SCRIPT", cache_hit=None)
        parent = self._marked(parent, node)
        script_hash = hex_id(rng, 32)
        cursor = parent.start_ms + randint(rng, 50, 300)
        kids: list[Job] = []
        for i, (statement_type, sql, child_scanned, child_refs) in enumerate(children):
            usage = query_usage(rng, child_scanned, ddl=statement_type == "DROP_TABLE")
            start = cursor + randint(rng, 5, 80)
            kid = Job(
                job_id=f"script_job_{script_hash}_{i}",
                parent_job_id=parent.job_id,
                project_id=parent.project_id,
                location=parent.location,
                user_email=parent.user_email,
                creation_ms=cursor,
                start_ms=start,
                end_ms=start + usage.duration_ms,
                arrival_ms=max(cursor + self.arrival.delay_ms(rng), parent.arrival_ms),
                statement_type=statement_type,
                query=sql,
                destination=self._ref(tmp_name) if statement_type == "CREATE_TABLE_AS_SELECT" else (
                    self._ref(node.name) if statement_type == "MERGE" else None),
                referenced=child_refs,
                bytes_processed=usage.processed,
                bytes_billed=usage.billed,
                slot_ms=usage.slot_ms,
                reservation_id=parent.reservation_id,
                edition=parent.edition,
                dml=(randint(rng, 100, 90_000), randint(rng, 100, 90_000), 0) if statement_type == "MERGE" else None,
                query_hash=query_hash(sql),
                invocation_id=parent.invocation_id,
                node_id=parent.node_id,
                pipeline_id=parent.pipeline_id,
                pipeline_run_id=parent.pipeline_run_id,
                orchestrator=parent.orchestrator,
                source="script_parent",
            )
            kids.append(kid)
            cursor = kid.end_ms + randint(rng, 20, 200)
        parent.end_ms = cursor + randint(rng, 50, 300)
        parent.bytes_processed = sum(k.bytes_processed or 0 for k in kids)
        parent.bytes_billed = sum(k.bytes_billed or 0 for k in kids)
        parent.slot_ms = sum(k.slot_ms or 0 for k in kids)
        self.jobs.append(parent)
        self.jobs.extend(kids)
        self._main = parent  # dbt-bigquery reports the SCRIPT's job (insert_overwrite)
        return parent.end_ms


@lru_cache(maxsize=1024)
def _node_labels_cached(unique_id: str, resource_type: str, package: str) -> tuple[qc.Label, ...]:
    fields = {"node_id": unique_id, "resource_type": resource_type, "package": package}
    return tuple(qc.labels_from_fields(fields, "")[:-1])


def _node_labels(node: Node | None, package: str) -> list[qc.Label]:
    if node is None:
        return []
    return list(_node_labels_cached(node.unique_id, node.resource_type, package))


class ArrivalModel:
    """How long after creation a job's row shows up in JOBS: mostly 0-10 min, ~1% up to 12 h."""

    def __init__(self, late_fraction: float = 0.01) -> None:
        self.late_fraction = late_fraction

    def delay_ms(self, rng: random.Random) -> int:
        if rng.random() < self.late_fraction:
            return randint(rng, 10 * 60_000, 12 * 3_600_000)
        return min(int(rng.expovariate(1 / 90_000)), 10 * 60_000)


REUSED_MESSAGE = "Reused: no new data upstream since the last build"
UNDEFINED_MACRO = "'forecast_horizon' is undefined."  # BROKEN_MODEL's compilation error
CORRUPT_PLANTS = frozenset({"corrupt_comment", "corrupt_comment_uploaded"})
# A runtime error whose text has everything an upload must escape: quotes, backslash, unicode, `*/`.
NASTY_ERROR = (
    "Error evaluating expression \"safe_divide(spend, clicks) */ 100\": division by zero: 1 / 0; "
    "channel 'café \\ ☕'"
)


def _format_bytes(num_bytes: int | None) -> str | int | None:
    """dbt-bigquery's BigQueryConnectionManager.format_bytes."""
    if not num_bytes:
        return num_bytes
    value = float(num_bytes)
    for unit in ("Bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024.0:
            return f"{value:3.1f} {unit}"
        value /= 1024.0
    return f"{value * 1024.0:3.1f} PiB"


def _format_rows(rows: int) -> str:
    """dbt-bigquery's BigQueryConnectionManager.format_rows_number."""
    value = float(rows)
    for unit in ("", "k", "m", "b", "t"):
        if abs(value) < 1000.0:
            return f"{value:3.1f}{unit}".strip()
        value /= 1000.0
    return f"{value * 1000.0:3.1f}t"


def _adapter_code_rows(job: Job, rng: random.Random) -> tuple[str, int | None]:
    """(code, rows_affected) of dbt-bigquery's adapter_response for a model's main statement."""
    if job.statement_type == "CREATE_VIEW":
        return "CREATE VIEW", None
    if job.statement_type == "SCRIPT":
        return "SCRIPT", None
    if job.statement_type == "CREATE_TABLE_AS_SELECT":
        return "CREATE TABLE", max(1, (job.bytes_processed or 0) // randint(rng, 150, 400))
    if job.dml is not None:
        return job.statement_type or "MERGE", sum(job.dml)
    return job.statement_type or "SELECT", None


def _adapter_message(code: str, rows: int | None, processed: int | None) -> str:
    """dbt-bigquery's adapter_response._message, which dbt reports as the node's message."""
    if rows is not None:
        return f"{code} ({_format_rows(rows)} rows, {_format_bytes(processed)} processed)"
    if processed is not None:
        return f"{code} ({_format_bytes(processed)} processed)"
    return code


def node_error(kind: str, node: Node, detail: str) -> str:
    """dbt's message of a node that failed: `Compilation` or `Database` error, then the detail."""
    return f"{kind} Error in {node.resource_type} {node.name} ({node.original_file_path})\n  {detail}"


def _database_error(node: Node, error: str) -> str:
    return (node_error("Database", node, error)
            + f"\n  compiled code at target/run/{node.package}/{node.original_file_path}")


def _compile_error(node: Node, *, long: bool = False) -> str:
    message = node_error("Compilation", node, UNDEFINED_MACRO + " This can happen when calling a macro that does "
                         'not exist. Check for typos and/or install package dependencies with "dbt deps".')
    if long:  # a deep macro stack: longer than the upload keeps
        message += "".join(f"\n  > in macro forecast_step_{i} (macros/forecast/step_{i}.sql)" for i in range(120))
        message += f"\n  > called by {node.resource_type} {node.name} ({node.original_file_path})"
    return message
