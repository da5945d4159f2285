"""The Databricks side of the simulation: dbt invocations (Airflow, Databricks Jobs, another team's
project), BI, ad-hoc and notebook statements, job runs and other compute, the hourly billing records
they leave; then what system.query.history, system.billing.usage and list_prices show at `as_of`.

Everything is decided before the snapshot, from its own random streams (the BigQuery simulation's
are untouched), so one seed describes one world whatever `as_of` is.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pipeline_costs import databricks_catalog as cat
from pipeline_costs import project as p
from pipeline_costs import run_results
from pipeline_costs.bigquery_generator import GeneratorConfig
from pipeline_costs.databricks_rows import (
    DAY_MS,
    HOUR_MS,
    DatabricksSnapshot,
    Statement,
    StatementRow,
    UsageRecord,
    hour_of,
    merge_spans,
)
from pipeline_costs.databricks_runs import (
    COMMENT,
    QUERY_TAGS,
    DatabricksInvocation,
    DatabricksRunner,
    JobRun,
)
from pipeline_costs.dbt_runs import Planted, new_uuid
from pipeline_costs.noise import ANALYSTS
from pipeline_costs.pipelines import DAILY_FINANCE_RUN, DAILY_FINANCE_TEST, HOUR_US, MINUTE_US, World, poisson

TARGET = "lakehouse"
ADAPTER_TYPE = "databricks"
ML_PROJECT = "ml_features"
ML_NODES = (
    p.Node("feat_users", "model", "models/features", (), "table", 30 * p.GiB, ("raw.users",), package=ML_PROJECT),
    p.Node("feat_sessions", "model", "models/features", (), "table", 80 * p.GiB, ("raw.sessions",),
           package=ML_PROJECT),
    p.Node("feat_training_set", "model", "models/features", (), "table", 20 * p.GiB,
           ("feat_users", "feat_sessions"), package=ML_PROJECT),
)
HOURLY_NODES = p.nodes("stg_sessions", "stg_ad_spend", "int_sessions_attributed", "fct_campaign_performance",
                       "fct_attribution", "dim_channels", "assert_sessions_have_channel")
HOURLY_RUNS_AT = (1, 5, 9, 13, 17, 21)  # UTC hours; each run starts at :50 and crosses the hour
INGEST_RUNS_AT = ((5, 30), (11, 30), (17, 30), (23, 30))
BI_HOURS = (1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 8, 10, 12, 12, 12, 11, 10, 9, 8, 7, 2)
QUANTUM = Decimal("0.000001")  # DBUs are reported to 6 decimals here: every cost is exact at 18
BILLING_DELAY_MS = (6 * HOUR_MS, 13 * HOUR_MS)
CORRECTION_DELAY_MS = 20 * HOUR_MS
TABLE_NOT_FOUND = "[TABLE_OR_VIEW_NOT_FOUND] The table or view `main`.`bi`.`kpi_daily` cannot be found. SQLSTATE: 42P01"


@dataclass(frozen=True)
class JobRunSpan:
    """A Databricks job run: billed per hour of [start, end) to its job's SKU."""

    job: cat.DatabricksJob
    workspace_id: str
    job_run_id: str
    start_ms: int
    end_ms: int
    custom_tags: dict[str, str]
    cluster_id: str | None = None


def _quantity(dbu_per_hour: Decimal, ms: int) -> Decimal:
    return (dbu_per_hour * ms / HOUR_MS).quantize(QUANTUM, rounding=ROUND_HALF_UP)


def _per_hour(intervals: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Milliseconds of the intervals in each hour they touch."""
    hours: dict[int, int] = {}
    for start, end in intervals:
        for hour in range(hour_of(start), end, HOUR_MS):
            hours[hour] = hours.get(hour, 0) + min(end, hour + HOUR_MS) - max(start, hour)
    return hours


@dataclass
class DatabricksGenerator:
    config: GeneratorConfig
    world: World
    statements: list[Statement] = field(default_factory=list)
    runners: list[DatabricksRunner] = field(default_factory=list)
    job_runs: list[JobRunSpan] = field(default_factory=list)
    records: list[UsageRecord] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)

    def __post_init__(self) -> None:
        seed = self.config.seed
        self._run_ids = random.Random(f"{seed}:databricks:run_ids")
        self._next_run_id = 1_048_576_000
        self._billing = random.Random(f"{seed}:databricks:billing")
        for day in range(self.config.days):
            self._airflow(day)
            self._lakehouse_hourly(day)
            self._lakehouse_nightly(day)
            self._ml_features(day)
            self._ingest(day)
            self._bi(day)
            self._adhoc(day)
            self._notebooks(day)
        self._bill()

    # -- helpers ----------------------------------------------------------------------------------
    def _rng(self, day: int, stream: str) -> random.Random:
        return random.Random(f"{self.config.seed}:databricks:{stream}:{day}")

    def _day_ms(self, day: int) -> int:
        return self.world.day_start_us(day) // 1000

    @property
    def _plant_day(self) -> int:
        return self.world.plant_day

    def _job_run_id(self) -> str:
        self._next_run_id += self._run_ids.randint(1, 5000)
        return str(self._next_run_id)

    def _run(self, inv: DatabricksInvocation) -> DatabricksRunner:
        runner = DatabricksRunner(inv, random.Random(f"{self.config.seed}:databricks:inv:{inv.invocation_id}"))
        self.statements.extend(runner.run())
        self.runners.append(runner)
        return runner

    def _dbt_job_run(self, job: cat.DatabricksJob, run: JobRun, runner: DatabricksRunner,
                     tags: dict[str, str]) -> None:
        """The job run of a dbt task: from cluster start (before dbt starts) to after the upload."""
        end = max(s.end_ms for s in runner.statements)
        self.job_runs.append(JobRunSpan(job, runner.inv.warehouse.workspace_id, run.job_run_id,
                                        runner.inv.run_started_us // 1000 - 45_000, end + 15_000, tags))

    def _plant(self, case: str, statement: Statement, note: str = "") -> None:
        self.planted.append(Planted(case, statement.workspace_id, statement.compute_id, statement.statement_id, note))

    # -- dbt invocations --------------------------------------------------------------------------
    def _airflow(self, day: int) -> None:
        """The DAG whose dbt_build task builds on BigQuery; its next task builds the lakehouse."""
        rng = self._rng(day, "airflow")
        start = self.world.day_start_us(day) + 7 * HOUR_US + 55 * MINUTE_US + rng.randint(0, 60_000_000)
        self._run(DatabricksInvocation(
            env={**self.world.unicode_dag_run(day), "AIRFLOW_CTX_TASK_ID": "dbt_databricks_build"},
            target=TARGET, command="build", run_started_us=start, warehouse=cat.ETL_WAREHOUSE,
            executed_by=cat.AIRFLOW_SERVICE_PRINCIPAL, schema=TARGET, nodes=p.NODES,
            invocation_id=new_uuid(rng), tagging=frozenset({COMMENT}), fail_rate=0.02,
        ))

    def _lakehouse_hourly(self, day: int) -> None:
        """A Databricks job's dbt task every 4 hours: comment and query tags; its node results name the
        job run (dbt-databricks >= 1.12.1)."""
        job = cat.LAKEHOUSE_HOURLY
        rng = self._rng(day, "lakehouse_hourly")
        for hour in HOURLY_RUNS_AT:
            start = self.world.day_start_us(day) + hour * HOUR_US + 50 * MINUTE_US + rng.randint(0, 90_000_000)
            run_id = self._job_run_id()
            run = JobRun(job.job_id, run_id, str(int(run_id) + 7_000_000))
            planted = day == self._plant_day and hour == 9
            runner = self._run(DatabricksInvocation(
                env={"DBT_PIPELINE_ID": job.name, "DBT_PIPELINE_RUN_ID": run_id}, target=TARGET, command="build",
                run_started_us=start, warehouse=cat.ETL_WAREHOUSE, executed_by=cat.JOBS_SERVICE_PRINCIPAL,
                schema=TARGET, nodes=HOURLY_NODES, invocation_id=new_uuid(rng),
                tagging=frozenset({COMMENT, QUERY_TAGS}), fail_rate=0.02, job_run=run, reports_job_run=True,
                plants=frozenset({"upload_failed", "node_error", "canceled"} if planted else set()),
                selectors=("tag:marketing+",),
            ))
            self._dbt_job_run(job, run, runner, {"team": "data-platform"})
            if planted:  # no node results: the job run is linked to nothing
                self.planted.append(Planted("databricks_unlinked_dbt_job_run", cat.PROD_WORKSPACE, job.job_id,
                                            run_id, runner.inv.invocation_id))
                for statement in runner.statements:
                    if statement.status in ("FAILED", "CANCELED") and statement.node_id:
                        self._plant(f"databricks_{statement.status.lower()}_node", statement, statement.node_id)

    def _lakehouse_nightly(self, day: int) -> None:
        """A job's dbt task with query tags only (dbt-databricks 1.11: no job run id in adapter_response);
        the job run carries the invocation id in a custom tag."""
        job = cat.LAKEHOUSE_NIGHTLY
        rng = self._rng(day, "lakehouse_nightly")
        start = self.world.day_start_us(day) + 2 * HOUR_US + 30 * MINUTE_US + rng.randint(0, 60_000_000)
        run_id = self._job_run_id()
        run = JobRun(job.job_id, run_id, str(int(run_id) + 7_000_000))
        nodes = DAILY_FINANCE_RUN + DAILY_FINANCE_TEST
        planted = day == self._plant_day
        inv = DatabricksInvocation(
            env={"DBT_PIPELINE_ID": job.name}, target=TARGET, command="build", run_started_us=start,
            warehouse=cat.ETL_WAREHOUSE, executed_by=cat.JOBS_SERVICE_PRINCIPAL, schema=TARGET, nodes=nodes,
            invocation_id=new_uuid(rng), tagging=frozenset({QUERY_TAGS}), job_run=run,
            # nothing new upstream: every node reused, no result with an execution time
            reused=frozenset(n.name for n in nodes) if planted else frozenset(), selectors=("+tag:finance",),
        )
        runner = self._run(inv)
        self._dbt_job_run(job, run, runner, {"team": "data-platform", "dbt_invocation_id": inv.invocation_id})
        case = "databricks_job_run_without_node" if planted else "databricks_custom_tag_job_run"
        if planted or day == 0:
            self.planted.append(Planted(case, cat.PROD_WORKSPACE, job.job_id, run_id, inv.invocation_id))

    def _ml_features(self, day: int) -> None:
        """Another team's project: no query comment, no query tags; only the node results name statements."""
        rng = self._rng(day, "ml_features")
        start = self.world.day_start_us(day) + 4 * HOUR_US + 10 * MINUTE_US + rng.randint(0, 60_000_000)
        self._run(DatabricksInvocation(
            env={}, target="prod", command="run", run_started_us=start, warehouse=cat.ADHOC_WAREHOUSE,
            executed_by=cat.ML_SERVICE_PRINCIPAL, schema="features", nodes=ML_NODES, invocation_id=new_uuid(rng),
            tagging=frozenset(), dbt_project=ML_PROJECT, threads=2, optimize_after=True, scan_factor=0.3,
        ))

    # -- other jobs, BI, ad hoc, notebooks --------------------------------------------------------
    def _ingest(self, day: int) -> None:
        """A Spark job on a job cluster: not dbt; a couple of its statements show in query history."""
        job = cat.INGEST_EVENTS
        rng = self._rng(day, "ingest")
        for hour, minute in INGEST_RUNS_AT:
            start = self._day_ms(day) + hour * HOUR_MS + minute * 60_000 + rng.randint(0, 120_000)
            end = start + rng.randint(20, 50) * 60_000
            run_id = self._job_run_id()
            cluster = f"{day:04d}-{hour:02d}{minute:02d}00-job{run_id[-6:]}"
            self.job_runs.append(JobRunSpan(job, cat.PROD_WORKSPACE, run_id, start, end, {"team": "platform"},
                                            cluster))
            t = start + 4 * 60_000
            for table in ("events", "sessions"):
                duration = rng.randint(60_000, 300_000)
                self.statements.append(Statement(
                    statement_id=new_uuid(rng), workspace_id=cat.PROD_WORKSPACE, session_id=new_uuid(rng),
                    compute_type="CLUSTER", compute_id=cluster, executed_by=cat.JOBS_SERVICE_PRINCIPAL,
                    statement_text=f"MERGE INTO main.raw.{table} t USING updates s ON t.id = s.id "
                                   "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
                    statement_type="MERGE", client_application="Databricks Spark", start_ms=t, end_ms=t + duration,
                    compilation_ms=rng.randint(100, 900), task_ms=duration * rng.randint(4, 16),
                    fetch_ms=0, job_info=(job.job_id, run_id, str(int(run_id) + 7_000_000)),
                ))
                t += duration + rng.randint(1000, 20_000)

    def _bi(self, day: int) -> None:
        """Dashboards on the BI warehouse: bursts of concurrent statements, some from the result cache."""
        rng = self._rng(day, "bi")
        plant = day == self._plant_day
        for _ in range(poisson(rng, 18 * self.config.scale)):
            hour = rng.choices(range(24), weights=BI_HOURS)[0]
            if plant and hour == 15:
                hour = 16  # an always-on hour without a statement: idle
            t = self._day_ms(day) + hour * HOUR_MS + rng.randint(0, HOUR_MS - 1)
            for _ in range(rng.randint(3, 8)):
                self.statements.append(self._bi_statement(rng, t + rng.randint(0, 2000)))
        if plant:
            t = self._day_ms(day) + 14 * HOUR_MS + 20 * 60_000
            stale = self._bi_statement(rng, t, cached=False)
            stale.stale_running_row = True  # an older RUNNING row of it is still in the table
            instant = self._bi_statement(rng, t + 60_000, cached=False)
            instant.end_ms = instant.start_ms  # ends the millisecond it starts: weighs its work in that hour
            self.statements += [stale, instant]
            self._plant("databricks_stale_running_row", stale)
            self._plant("databricks_zero_duration", instant)

    def _bi_statement(self, rng: random.Random, start: int, *, cached: bool | None = None) -> Statement:
        cached = rng.random() < 0.15 if cached is None else cached
        duration = rng.randint(30, 250) if cached else min(90_000, int(rng.lognormvariate(7.8, 1.0)))
        statement = Statement(
            statement_id=new_uuid(rng), workspace_id=cat.PROD_WORKSPACE, session_id=new_uuid(rng),
            compute_type="WAREHOUSE", compute_id=cat.BI_WAREHOUSE.warehouse_id,
            executed_by=cat.TABLEAU_SERVICE_PRINCIPAL,
            statement_text="SELECT `kpi_daily`.`day`, SUM(`kpi_daily`.`revenue`) AS `sum_revenue`\n"
                           "FROM `main`.`bi`.`kpi_daily` `kpi_daily`\nGROUP BY 1",
            statement_type="SELECT", client_application="Tableau", start_ms=start, end_ms=start + duration,
            from_result_cache=cached,
        )
        if cached:  # no work at all: weight 0
            statement.compilation_ms = statement.task_ms = statement.fetch_ms = 0
            return statement
        statement.compilation_ms = rng.randint(30, 400)
        statement.task_ms = int(duration * rng.uniform(1, 16))
        statement.fetch_ms = rng.randint(10, 800)
        statement.read_bytes = int(duration * rng.uniform(1e5, 1e6))
        if rng.random() < 0.02:
            statement.status, statement.error_message = "FAILED", TABLE_NOT_FOUND
            statement.task_ms = statement.fetch_ms = 0
        return statement

    def _adhoc(self, day: int) -> None:
        """Analysts in the SQL editor on the analytics workspace's warehouse."""
        rng = self._rng(day, "adhoc")
        day_ms = self._day_ms(day)
        for _ in range(poisson(rng, 30 * self.config.scale)):
            t = day_ms + rng.randint(13 * HOUR_MS, 24 * HOUR_MS - 1)
            self.statements.append(self._adhoc_statement(rng, t, min(900_000, int(rng.lognormvariate(9.0, 1.5)))))
        if day == self._plant_day:
            midnight = self._adhoc_statement(rng, day_ms + DAY_MS - 90_000, 310_000, final="FINISHED")
            lonely = self._adhoc_statement(rng, day_ms + 3 * HOUR_MS + 20 * 60_000, 40, final="FINISHED")
            lonely.from_result_cache = True
            lonely.compilation_ms, lonely.task_ms, lonely.fetch_ms = 0, None, None  # NULL counts 0
            self.statements += [midnight, lonely]
            self._plant("databricks_crosses_midnight", midnight)
            self._plant("databricks_zero_weight_hour", lonely)
        if day == self.config.days - 1:
            running = self._adhoc_statement(rng, self.config.end_ms - 120_000, 600_000, final="FINISHED")
            self.statements.append(running)
            self._plant("databricks_running_at_end", running)

    def _adhoc_statement(self, rng: random.Random, start: int, duration: int, final: str | None = None) -> Statement:
        status = final or rng.choices(("FINISHED", "FAILED", "CANCELED"), weights=(91, 4, 5))[0]
        if status == "FAILED":
            duration = rng.randint(100, 900)
        elif status == "CANCELED":
            duration = max(200, duration // 3)
        return Statement(
            statement_id=new_uuid(rng), workspace_id=cat.ANALYTICS_WORKSPACE, session_id=new_uuid(rng),
            compute_type="WAREHOUSE", compute_id=cat.ADHOC_WAREHOUSE.warehouse_id, executed_by=rng.choice(ANALYSTS),
            statement_text="select customer_id, count(*) as n\nfrom main.raw.orders\ngroup by 1\norder by 2 desc",
            statement_type="SELECT", client_application="Databricks SQL Editor", start_ms=start,
            end_ms=start + duration, status=status,
            error_message={"FAILED": "[DIVIDE_BY_ZERO] Division by zero. SQLSTATE: 22012",
                           "CANCELED": "Query has been cancelled by the user."}.get(status),
            compilation_ms=rng.randint(40, 700), task_ms=int(duration * rng.uniform(0.5, 12)),
            fetch_ms=rng.randint(5, 3000), read_bytes=duration * rng.randint(10_000, 500_000),
        )

    def _notebooks(self, day: int) -> None:
        """SQL cells on the interactive cluster: billed to the cluster, not priced per statement."""
        rng = self._rng(day, "notebooks")
        for _ in range(poisson(rng, 12 * self.config.scale)):
            start = self._day_ms(day) + rng.randint(9 * HOUR_MS, 18 * HOUR_MS - 600_000)
            duration = rng.randint(500, 120_000)
            self.statements.append(Statement(
                statement_id=new_uuid(rng), workspace_id=cat.ANALYTICS_WORKSPACE, session_id=new_uuid(rng),
                compute_type="CLUSTER", compute_id=cat.INTERACTIVE_CLUSTER, executed_by=rng.choice(ANALYSTS),
                statement_text="SELECT * FROM main.raw.sessions WHERE created_at > current_date() - 7",
                statement_type="SELECT", client_application="Databricks Notebook", start_ms=start,
                end_ms=start + duration, compilation_ms=rng.randint(50, 500),
                task_ms=duration * rng.randint(1, 8), fetch_ms=rng.randint(10, 500),
            ))

    # -- billing ----------------------------------------------------------------------------------
    def _record(self, workspace_id: str, sku: str, hour: int, quantity: Decimal, product: str,
                **kw: Any) -> UsageRecord:
        rng = self._billing
        record = UsageRecord(record_id=new_uuid(rng), workspace_id=workspace_id, sku_name=sku, start_ms=hour,
                             quantity=quantity, product=product,
                             arrival_ms=hour + HOUR_MS + rng.randint(*BILLING_DELAY_MS), **kw)
        if record.start_ms < self.config.end_ms:
            self.records.append(record)
        return record

    def _bill(self) -> None:
        for warehouse in cat.WAREHOUSES:
            self._bill_warehouse(warehouse)
        for run in self.job_runs:
            self._bill_job_run(run)
        for day in range(self.config.days):
            self._bill_other_compute(day)
        self._corrections()

    def _bill_warehouse(self, warehouse: cat.Warehouse) -> None:
        """A warehouse runs while statements run, then until auto-stop; some are kept on for hours."""
        up = [(s.start_ms, s.end_ms + warehouse.auto_stop_ms) for s in self.statements
              if s.on_warehouse and s.compute_id == warehouse.warehouse_id]
        if warehouse.always_on is not None:
            first, last = warehouse.always_on
            up += [(self._day_ms(day) + first * HOUR_MS, self._day_ms(day) + last * HOUR_MS)
                   for day in range(self.config.days)]
        features = {"sql_tier": warehouse.sql_tier, "is_serverless": warehouse.is_serverless, "is_photon": True}
        for hour, ms in sorted(_per_hour(merge_spans(up)).items()):
            self._record(warehouse.workspace_id, warehouse.sku_name, hour, _quantity(warehouse.dbu_per_hour, ms),
                         "SQL", metadata={"warehouse_id": warehouse.warehouse_id}, features=features)

    def _bill_job_run(self, run: JobRunSpan) -> None:
        job = run.job
        metadata = {"job_id": job.job_id, "job_run_id": run.job_run_id, "job_name": job.name,
                    "run_name": f"{job.name} {run.job_run_id}"}
        if run.cluster_id is not None:
            metadata["cluster_id"] = run.cluster_id
        features = {"jobs_tier": "PREMIUM", "is_serverless": job.is_serverless, "is_photon": job.is_serverless}
        for hour, ms in sorted(_per_hour([(run.start_ms, run.end_ms)]).items()):
            self._record(run.workspace_id, job.sku_name, hour, _quantity(job.dbu_per_hour, ms), "JOBS",
                         metadata=metadata, custom_tags=run.custom_tags, features=features,
                         run_as=cat.JOBS_SERVICE_PRINCIPAL)

    def _bill_other_compute(self, day: int) -> None:
        """DLT, the interactive cluster, a serverless notebook and a serving endpoint (no list price)."""
        rng = self._rng(day, "other_compute")
        day_ms = self._day_ms(day)
        dlt_update = new_uuid(rng)
        for hour, ms in sorted(_per_hour([(day_ms + 3 * HOUR_MS, day_ms + 5 * HOUR_MS + 600_000)]).items()):
            self._record(cat.PROD_WORKSPACE, cat.SKU_DLT, hour, _quantity(Decimal(16), ms), "DLT",
                         metadata={"dlt_pipeline_id": cat.DLT_PIPELINE, "dlt_update_id": dlt_update},
                         features={"dlt_tier": "ADVANCED", "is_serverless": False, "is_photon": True})
        for hour in range(9, 18):
            self._record(cat.ANALYTICS_WORKSPACE, cat.SKU_ALL_PURPOSE, day_ms + hour * HOUR_MS,
                         cat.INTERACTIVE_DBU_PER_HOUR, "INTERACTIVE", metadata={"cluster_id": cat.INTERACTIVE_CLUSTER},
                         features={"is_serverless": False, "is_photon": False})
        for hour in (14, 15):
            self._record(cat.ANALYTICS_WORKSPACE, cat.SKU_SERVERLESS_NOTEBOOKS, day_ms + hour * HOUR_MS,
                         _quantity(Decimal("3.5"), rng.randint(60_000, HOUR_MS)), "NOTEBOOKS",
                         metadata={"notebook_id": cat.NOTEBOOK_ID, "notebook_path": cat.NOTEBOOK_PATH},
                         features={"is_serverless": True}, run_as="dana@acme.com")
        name, endpoint = cat.SERVING_ENDPOINT
        for hour in range(24):
            self._record(cat.PROD_WORKSPACE, cat.SKU_MODEL_SERVING, day_ms + hour * HOUR_MS, Decimal("0.75"),
                         "MODEL_SERVING", metadata={"endpoint_name": name, "endpoint_id": endpoint},
                         features={"is_serverless": True, "serving_type": "MODEL"})

    def _corrections(self) -> None:
        """A corrected warehouse-hour and job-run hour (RETRACTION + RESTATEMENT), a duplicated row."""
        day_ms = self._day_ms(self._plant_day)
        etl = cat.ETL_WAREHOUSE.warehouse_id
        targets = (
            ("warehouse", lambda r: r.metadata.get("warehouse_id") == etl and r.start_ms == day_ms + 7 * HOUR_MS,
             Decimal("0.8")),
            ("job_run", lambda r: r.metadata.get("job_name") == cat.LAKEHOUSE_HOURLY.name
             and r.start_ms == day_ms + 13 * HOUR_MS, Decimal("1.25")),
        )
        for kind, match, factor in targets:
            original = next((r for r in self.records if match(r)), None)
            if original is None:
                continue
            for record_type, quantity in (("RETRACTION", -original.quantity),
                                          ("RESTATEMENT", (original.quantity * factor).quantize(QUANTUM))):
                correction = replace(original, record_id=new_uuid(self._billing), quantity=quantity,
                                     record_type=record_type, arrival_ms=original.arrival_ms + CORRECTION_DELAY_MS)
                self.records.append(correction)
                self.planted.append(Planted(f"databricks_{record_type.lower()}", correction.workspace_id, kind,
                                            correction.record_id, original.record_id))
        bi = cat.BI_WAREHOUSE.warehouse_id
        duplicated = next((r for r in self.records
                           if r.metadata.get("warehouse_id") == bi and r.start_ms == day_ms + 14 * HOUR_MS), None)
        if duplicated is not None:
            self.records.append(duplicated)
            self.planted.append(Planted("databricks_duplicate_usage_row", duplicated.workspace_id, "warehouse",
                                        duplicated.record_id))

    # -- the snapshot -----------------------------------------------------------------------------
    def snapshot(self) -> DatabricksSnapshot:
        cfg = self.config
        as_of, end = cfg.as_of_ms, cfg.end_ms
        rows: list[StatementRow] = []
        for s in sorted(self.statements, key=lambda s: (s.start_ms, s.statement_id)):
            if s.start_ms >= as_of or s.start_ms >= end:
                continue
            if s.end_ms > as_of:
                rows.append(StatementRow(s, "RUNNING", None, as_of))
                continue
            if s.stale_running_row:
                rows.append(StatementRow(s, "RUNNING", None, s.start_ms + (s.end_ms - s.start_ms) // 2))
            rows.append(StatementRow(s, s.status, s.end_ms, s.end_ms + 150))
        records = sorted((r for r in self.records if r.arrival_ms <= as_of),
                         key=lambda r: (r.start_ms, r.record_id))
        prices = [replace(price, end_ms=price.end_ms if price.end_ms is not None and price.end_ms <= as_of else None)
                  for price in cat.list_prices(self._day_ms(self._plant_day)) if price.start_ms <= as_of]
        invocations: list[run_results.Row] = []
        nodes: list[run_results.Row] = []
        for runner in self.runners:
            if runner.uploaded_by(as_of, end):
                invocation, results = run_results.invocation_rows(runner, run_results.databricks_node_row,
                                                                  ADAPTER_TYPE)
                invocations.append(invocation)
                nodes.extend(results)
        return DatabricksSnapshot(rows, records, prices, invocations, nodes, self._planted_rows(rows, records))

    def _planted_rows(self, rows: list[StatementRow], records: list[UsageRecord]) -> list[dict[str, Any]]:
        state: dict[str, str] = {row.statement.statement_id: row.status for row in rows}  # the latest row
        state.update({r.record_id: r.record_type for r in records})
        for r in records:
            if "job_run_id" in r.metadata:
                state[r.metadata["job_run_id"]] = "BILLED"
        return [{"case_name": c.case, "project_id": c.project_id, "location": c.location, "job_id": c.job_id,
                 "note": c.note or None, "present": c.job_id in state, "state": state.get(c.job_id)}
                for c in self.planted]
