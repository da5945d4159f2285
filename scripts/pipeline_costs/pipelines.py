"""Which dbt invocations run when: the team's pipelines, and the planted cases among them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline_costs import project as p
from pipeline_costs.dbt_runs import Invocation, Reservation, new_uuid

DAY_MS = 86_400_000
HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000

ANALYTICS = "acme-analytics"
DBT_CLOUD_JOB_ID = 918273
UNICODE_DAG_ID = "финансы*/daily"
CLOUD_RESERVATION = Reservation("admin-project:US.prod-reservation", "ENTERPRISE")

DAILY_FINANCE_RUN = p.nodes(
    "stg_orders", "stg_customers", "stg_payments", "int_orders_enriched", p.LONG_MODEL_NAME,
    "fct_orders", "fct_revenue", "fct_payments", "dim_customers",
)
DAILY_FINANCE_TEST = p.nodes("assert_orders_have_customers", "assert_revenue_non_negative", "assert_payments_unique")
CLOUD_BUILD = p.nodes(
    "stg_sessions", "int_sessions_attributed", "fct_campaign_performance", "fct_attribution",
    "assert_sessions_have_channel",
)
EU_SYNC = p.nodes("stg_ad_spend", "stg_sessions", "dim_channels", "fct_campaign_performance")
GROWTH_PROJECT = "growth_dbt"
GROWTH_NODES = (
    p.Node("growth_signups", "model", "models", (), "table", 2 * p.GiB, ("raw.signups",), package=GROWTH_PROJECT),
    p.Node("growth_funnel", "model", "models", (), "table", 6 * p.GiB, ("raw.sessions",), package=GROWTH_PROJECT),
    p.Node("growth_cohorts", "model", "models", (), "insert_overwrite", 1 * p.GiB, ("raw.signups",),
           package=GROWTH_PROJECT),
)
SANDBOX_PROJECT = "acme-sandbox"  # a developer's own GCP project: its JOBS are not read by the package
DEVELOPERS = ("alice@acme.com", "bob@acme.com", "chen@acme.com")
ANOMALY_SCAN_MULTIPLIER = 10.0
# Planted for issue 5 (forecast, anomalies, profiler): see World.findings and ground_truth.planted_findings.
DAG_GROWTH_PER_DAY = 0.03  # the two-platform DAG's BigQuery models scan 1 + 0.03 x day times their base bytes
WEEKEND_KEEP = 0.4  # share of the hourly dbt Cloud job's runs kept on Saturdays and Sundays
LEVEL_SHIFT_NODE = "fct_attribution"
LEVEL_SHIFT_MULTIPLIER = 1.75  # from the middle of the period on, the dbt Cloud job's fct_attribution scans this much more


@dataclass(frozen=True)
class Finding:
    """A planted scenario the issue 5 marts must find (ground truth table planted_findings)."""

    finding: str
    pipeline_id: str | None = None
    pipeline_run_id: str | None = None
    node_id: str | None = None
    started_us: int | None = None
    factor: float | None = None
    note: str = ""


@dataclass(frozen=True)
class SaoJob:
    """A dbt Cloud job with state-aware orchestration: a model is rebuilt only when its upstream
    has new data and its build_after has elapsed since this job last built it; else it is reused."""

    job_id: int
    nodes: tuple[p.Node, ...]
    every_hours: int
    minute: int
    new_data: tuple[float, float]  # chance a source has new data at a run: on the first day, the last day
    selectors: tuple[str, ...]


SAO_JOBS: tuple[SaoJob, ...] = (
    # more and more fresh data: reuse falls over the period
    SaoJob(920001, p.nodes("stg_sessions", "stg_ad_spend", "int_sessions_attributed", "fct_campaign_performance",
                           "fct_attribution", "dim_channels", p.BROKEN_MODEL, "assert_sessions_have_channel"),
           1, 37, (0.45, 1.0), ("tag:marketing+", "stg_ad_spend+")),
    # less and less fresh data: reuse rises over the period
    SaoJob(920002, DAILY_FINANCE_RUN + DAILY_FINANCE_TEST, 3, 52, (0.95, 0.15), ("+tag:finance",)),
    # staging views only, no freshness config at all
    SaoJob(920003, tuple(n for n in p.MODELS if n.folder.endswith("/staging")), 6, 11, (0.8, 0.8),
           ("path:models/example_project/staging",)),
)


def sao_reuse(nodes: tuple[p.Node, ...], last_built: dict[str, int], t_us: int, rng: random.Random,
              p_new: float) -> frozenset[str]:
    """Names of the nodes an SAO run at t_us reuses; updates last_built for those it builds."""
    fresh_output: dict[str, bool] = {}
    source_news: dict[str, bool] = {}
    reused: set[str] = set()
    for node in nodes:
        if node.resource_type == "test":
            if node.upstream[0] in reused:
                reused.add(node.name)
            continue
        flags = []
        for upstream in node.upstream:
            if upstream in fresh_output:
                flags.append(fresh_output[upstream])
            elif "." in upstream:  # a source
                if upstream not in source_news:
                    source_news[upstream] = rng.random() < p_new
                flags.append(source_news[upstream])
            else:  # a seed, or a model the job does not build: unchanged
                flags.append(False)
        updates_on = node.build_after[2] if node.build_after else "any"
        fresh = bool(flags) and (all(flags) if updates_on == "all" else any(flags))
        last = last_built.get(node.name)
        due = last is None or node.build_after_s is None or t_us - last >= node.build_after_s * 1_000_000
        if last is None or (fresh and due):
            fresh_output[node.name] = True
            if node.name != p.BROKEN_MODEL:  # never built successfully: always retried
                last_built[node.name] = t_us
        else:
            fresh_output[node.name] = False
            reused.add(node.name)
    return frozenset(reused)


@dataclass
class World:
    """Plans invocations day by day (call `plan_day` for day 0, 1, ... in order)."""

    seed: int
    days: int
    start: date
    scale: float
    cloud_run_id: int = 310_000_000
    github_run_id: int = 11_800_000_000
    finance_runs: int = 0
    _pending_reruns: list[tuple[int, int]] = field(default_factory=list)
    # SAO job id -> node name -> when the job last built it (epoch us); the environment's state
    # predates the simulated period: every node was built the day before it starts
    sao_state: dict[int, dict[str, int]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self) -> None:
        node_id = {name: p.NODES_BY_NAME[name].unique_id for name in ("dim_customers", "fct_revenue", p.BROKEN_MODEL)}
        self.findings += [
            Finding("cost_trend", UNICODE_DAG_ID, factor=DAG_GROWTH_PER_DAY, started_us=self.day_start_us(0),
                    note="every BigQuery model of the run scans 1 + factor x day its base bytes"),
            Finding("weekly_seasonality", str(DBT_CLOUD_JOB_ID), factor=WEEKEND_KEEP,
                    note="share of the hourly job's runs kept on Saturdays and Sundays"),
            Finding("slow_model", node_id=node_id["dim_customers"],
                    note="every build runs 600-900 s longer for the same bytes"),
            Finding("unpartitioned_scan", node_id=node_id["fct_revenue"],
                    note="reads all of its referenced tables every run (storage fixture sizes)"),
            Finding("failing_model", node_id=node_id[p.BROKEN_MODEL], note="fails to compile in every run selecting it"),
        ]

    @property
    def level_shift_day(self) -> int:
        return self.days // 2

    @property
    def plant_day(self) -> int:
        return min(1, self.days - 1)

    @property
    def anomaly_run(self) -> int | None:
        """Index of the daily_finance run that scans much more (needs >= 3 earlier runs)."""
        run = min(self.days - 1, 5)
        return run if run >= 3 else None

    def rng(self, day: int, stream: str) -> random.Random:
        return random.Random(f"{self.seed}:{stream}:{day}")

    def day_start_us(self, day: int) -> int:
        return int((self.start - date(1970, 1, 1)).days + day) * DAY_MS * 1000

    def plan_day(self, day: int) -> list[Invocation]:
        invs: list[Invocation] = []
        invs += self._daily_finance(day)
        invs += self._unicode_dag(day)
        invs += self._dbt_cloud(day)
        invs += self._sao(day)
        invs += self._github_ci(day)
        invs += self._eu_explicit(day)
        invs += self._developers(day)
        invs += self._growth_team(day)
        return invs

    # -- Airflow ----------------------------------------------------------------------------------
    def _daily_finance(self, day: int) -> list[Invocation]:
        rng = self.rng(day, "daily_finance")
        logical = self.start + timedelta(days=day - 1)
        env = {
            "AIRFLOW_CTX_DAG_ID": "daily_finance",
            "AIRFLOW_CTX_DAG_RUN_ID": f"scheduled__{logical.isoformat()}T05:00:00+00:00",
        }
        spike = self.finance_runs == self.anomaly_run
        self.finance_runs += 1
        multipliers = {"int_orders_enriched": ANOMALY_SCAN_MULTIPLIER} if spike else {}
        checked = self.day_start_us(day) + 5 * HOUR_US + rng.randint(5, 60) * 1_000_000 + rng.randint(0, 999_999)
        freshness = Invocation(
            env={**env, "AIRFLOW_CTX_TASK_ID": "dbt_source_freshness"}, target="prod", command="freshness",
            run_started_us=checked, gcp_project=ANALYTICS, location="us",
            user_email="airflow-dbt@acme-analytics.iam.gserviceaccount.com", dataset="analytics",
            nodes=p.FRESHNESS_SOURCES, invocation_id=new_uuid(rng), threads=4, metadata_queries=1,
            selectors=("source:raw",),
        )
        start = checked + 3 * MINUTE_US + rng.randint(0, 60_000_000)
        run = Invocation(
            env={**env, "AIRFLOW_CTX_TASK_ID": "dbt_run"}, target="prod", command="run", run_started_us=start,
            gcp_project=ANALYTICS, location="us", user_email="airflow-dbt@acme-analytics.iam.gserviceaccount.com",
            dataset="analytics", nodes=DAILY_FINANCE_RUN, invocation_id=new_uuid(rng), threads=4,
            scan_multipliers=multipliers, plants=frozenset({"anomaly"} if spike else set()),
            selectors=("+tag:finance",),
        )
        if spike:
            self.findings.append(Finding(
                "spike", "daily_finance", env["AIRFLOW_CTX_DAG_RUN_ID"], p.NODES_BY_NAME["int_orders_enriched"].unique_id,
                start, ANOMALY_SCAN_MULTIPLIER, "int_orders_enriched scans factor x its bytes in this run"))
        invs = [freshness, run]
        if day == self.plant_day or rng.random() < 0.5:
            # second dbt task of the same dag run, started once dbt_run is done (~10 min later)
            invs.append(Invocation(
                env={**env, "AIRFLOW_CTX_TASK_ID": "dbt_test"}, target="prod", command="test",
                run_started_us=start + 20 * MINUTE_US + rng.randint(0, 120_000_000),
                gcp_project=ANALYTICS, location="us", user_email=run.user_email, dataset="analytics",
                nodes=DAILY_FINANCE_TEST, invocation_id=new_uuid(rng), threads=4, selectors=("tag:finance",),
            ))
        return invs

    def unicode_dag_run(self, day: int) -> dict[str, str]:
        """The Airflow context of the day's run of the DAG whose tasks build on BigQuery and Databricks."""
        logical = self.start + timedelta(days=day - 1)
        return {"AIRFLOW_CTX_DAG_ID": UNICODE_DAG_ID,
                "AIRFLOW_CTX_DAG_RUN_ID": f"scheduled__{logical.isoformat()}T06:30:00+00:00"}

    def _unicode_dag(self, day: int) -> list[Invocation]:
        rng = self.rng(day, "unicode_dag")
        start = self.day_start_us(day) + 6 * HOUR_US + 30 * MINUTE_US + rng.randint(0, 60_000_000)
        plants = {"dbt_cache_hit", "long_message"} if day == self.plant_day else set()
        return [Invocation(
            env={**self.unicode_dag_run(day), "AIRFLOW_CTX_TASK_ID": "dbt_build"},
            target="prod", command="build", run_started_us=start, gcp_project=ANALYTICS, location="us",
            user_email="airflow-dbt@acme-analytics.iam.gserviceaccount.com", dataset="finance_ru",
            nodes=p.NODES, invocation_id=new_uuid(rng), threads=4, plants=frozenset(plants),
            scan_multipliers={n.name: 1 + DAG_GROWTH_PER_DAY * day for n in p.NODES},
        )]

    # -- dbt Cloud --------------------------------------------------------------------------------
    def _dbt_cloud(self, day: int) -> list[Invocation]:
        rng = self.rng(day, "dbt_cloud")
        jobs = max(1, round(self.scale))
        invs: list[Invocation] = []
        weekend = (self.start + timedelta(days=day)).weekday() >= 5
        shifted = day >= self.level_shift_day
        for hour in range(24):
            for k in range(jobs):
                planted_run = day == self.plant_day and hour in (2, 3) and k == 0
                if rng.random() < 0.08 and not planted_run:
                    continue  # skipped / deduplicated by the scheduler
                if weekend and rng.random() >= WEEKEND_KEEP and not planted_run:
                    continue  # little new data at weekends: most runs are skipped
                minute = (7 + 3 * k) % 60
                start = (self.day_start_us(day) + hour * HOUR_US + minute * MINUTE_US
                         + rng.randint(0, 90_000_000))
                self.cloud_run_id += rng.randint(1, 4000)
                plants: set[str] = set()
                if day == self.plant_day and k == 0 and hour == 2:
                    # its upload fails: the damaged comment can only fall back to the labels
                    plants = {"corrupt_comment", "retry", "upload_failed"}
                elif day == self.plant_day and k == 0 and hour == 3:
                    plants = {"corrupt_comment_uploaded"}
                invs.append(Invocation(
                    env={
                        "DBT_CLOUD_JOB_ID": str(DBT_CLOUD_JOB_ID + k),
                        "DBT_CLOUD_RUN_ID": str(self.cloud_run_id),
                        "DBT_CLOUD_RUN_REASON_CATEGORY": "scheduled" if rng.random() < 0.95 else "other",
                        "DBT_CLOUD_PROJECT_ID": "70403",
                    },
                    target="prod", command="build", run_started_us=start, gcp_project=ANALYTICS, location="us",
                    user_email="dbt-cloud@acme-analytics.iam.gserviceaccount.com", dataset="marketing",
                    nodes=CLOUD_BUILD, invocation_id=new_uuid(rng), threads=4, reservation=CLOUD_RESERVATION,
                    plants=frozenset(plants), selectors=("+fct_attribution", "+fct_campaign_performance"),
                    scan_multipliers={LEVEL_SHIFT_NODE: LEVEL_SHIFT_MULTIPLIER} if shifted else {},
                ))
                if shifted and k == 0 and not any(f.finding == "level_shift" for f in self.findings):
                    self.findings.append(Finding(
                        "level_shift", str(DBT_CLOUD_JOB_ID + k), str(self.cloud_run_id),
                        p.NODES_BY_NAME[LEVEL_SHIFT_NODE].unique_id, start, LEVEL_SHIFT_MULTIPLIER,
                        f"{LEVEL_SHIFT_NODE} scans factor x its bytes from this run on"))
        return invs

    def _sao(self, day: int) -> list[Invocation]:
        invs: list[Invocation] = []
        progress = day / max(1, self.days - 1)
        for job in SAO_JOBS:
            rng = self.rng(day, f"sao:{job.job_id}")
            state = self.sao_state.setdefault(job.job_id, {
                n.name: self.day_start_us(-1) for n in job.nodes if n.name != p.BROKEN_MODEL})
            p_new = job.new_data[0] + (job.new_data[1] - job.new_data[0]) * progress
            for hour in range(0, 24, job.every_hours):
                start = (self.day_start_us(day) + hour * HOUR_US + job.minute * MINUTE_US
                         + rng.randint(0, 60_000_000))
                self.cloud_run_id += rng.randint(1, 4000)
                invs.append(Invocation(
                    env={
                        "DBT_CLOUD_JOB_ID": str(job.job_id),
                        "DBT_CLOUD_RUN_ID": str(self.cloud_run_id),
                        "DBT_CLOUD_RUN_REASON_CATEGORY": "scheduled",
                        "DBT_CLOUD_PROJECT_ID": "70403",
                    },
                    target="prod", command="build", run_started_us=start, gcp_project=ANALYTICS, location="us",
                    user_email="dbt-cloud@acme-analytics.iam.gserviceaccount.com", dataset="analytics",
                    nodes=job.nodes, invocation_id=new_uuid(rng), threads=4, reservation=CLOUD_RESERVATION,
                    reused=sao_reuse(job.nodes, state, start, rng, p_new), selectors=job.selectors,
                ))
        return invs

    # -- GitHub Actions CI ------------------------------------------------------------------------
    def _github_ci(self, day: int) -> list[Invocation]:
        rng = self.rng(day, "github_ci")
        runs = poisson(rng, 4 * self.scale)
        if day == self.plant_day:
            runs = max(runs, 1)
        times = sorted(rng.randint(14 * 3600, 23 * 3600) for _ in range(runs))
        invs: list[Invocation] = []
        for i, seconds in enumerate(times):
            self.github_run_id += rng.randint(1, 900)
            planted = day == self.plant_day and i == 0
            models = rng.sample(p.WORKING_MODELS, rng.randint(3, 8))
            if planted and p.NODES_BY_NAME["dim_channels"] not in models:
                models.append(p.NODES_BY_NAME["dim_channels"])
            chosen = {n.name for n in models}
            tests = [t for t in p.TESTS if t.upstream[0] in chosen]
            selected = tuple(n for n in p.NODES if n.name in chosen or n in tests)
            attempts = 2 if rng.random() < 0.1 else 1
            event = "push" if rng.random() < 0.15 and not planted else "pull_request"  # push: after a merge
            start = self.day_start_us(day) + seconds * 1_000_000 + rng.randint(0, 999_999)
            for attempt in range(1, attempts + 1):
                pr = rng.randint(100, 999)
                invs.append(Invocation(
                    env={
                        "GITHUB_REPOSITORY": "acme/analytics-dbt",
                        "GITHUB_WORKFLOW": "dbt CI",
                        "GITHUB_RUN_ID": str(self.github_run_id),
                        "GITHUB_RUN_ATTEMPT": str(attempt),
                        "GITHUB_JOB": "dbt-build",
                        "GITHUB_EVENT_NAME": event,
                    },
                    target="ci", command="build", run_started_us=start + (attempt - 1) * 25 * MINUTE_US,
                    gcp_project=ANALYTICS, location="us",
                    user_email="github-ci@acme-analytics.iam.gserviceaccount.com", dataset=f"dbt_ci_pr_{pr}",
                    nodes=selected, invocation_id=new_uuid(rng), threads=4,
                    plants=frozenset({"node_error"} if planted and attempt == 1 else set()), fail_rate=0.02,
                    selectors=("state:modified+",),
                ))
        return invs

    # -- explicit env, EU -------------------------------------------------------------------------
    def _eu_explicit(self, day: int) -> list[Invocation]:
        rng = self.rng(day, "eu_explicit")
        invs = []
        for hour in (2, 14):
            start = self.day_start_us(day) + hour * HOUR_US + 15 * MINUTE_US + rng.randint(0, 60_000_000)
            invs.append(Invocation(
                env={"DBT_PIPELINE_ID": "eu_marketing_sync"}, target="eu_prod", command="run",
                run_started_us=start, gcp_project=ANALYTICS, location="eu",
                user_email="dbt-eu@acme-analytics.iam.gserviceaccount.com", dataset="analytics_eu",
                nodes=EU_SYNC, invocation_id=new_uuid(rng), threads=2,
                scan_multipliers={n.name: 0.2 for n in EU_SYNC}, selectors=tuple(n.name for n in EU_SYNC),
                plants=frozenset(({"duplicate_upload"} if hour == 2 else {"upstream_error"})
                                 if day == self.plant_day else set()),
            ))
        return invs

    # -- developers (no orchestrator) -------------------------------------------------------------
    def _developers(self, day: int) -> list[Invocation]:
        rng = self.rng(day, "developers")
        runs = poisson(rng, 3 * self.scale)
        if day == self.plant_day:
            runs = max(runs, 1)
        invs = []
        for i in range(runs):
            planted = day == self.plant_day and i == 0
            user = rng.choice(DEVELOPERS)
            command = "run" if planted else rng.choices(
                ["run", "build", "test", "seed", "run-operation"], weights=[40, 20, 15, 10, 15]
            )[0]
            if command == "seed":
                selected: tuple[p.Node, ...] = p.SEEDS
            elif command == "test":
                selected = tuple(rng.sample(p.TESTS, rng.randint(1, len(p.TESTS))))
            elif command == "run-operation":
                selected = ()
            else:
                models = set(rng.sample(p.WORKING_MODELS, rng.randint(1, 6)))
                if planted:
                    models.add(p.NODES_BY_NAME["int_orders_enriched"])
                selected = tuple(n for n in p.NODES if n in models or (
                    command == "build" and n.resource_type == "test" and p.NODES_BY_NAME[n.upstream[0]] in models))
            start = self.day_start_us(day) + rng.randint(13 * 3600, 23 * 3600) * 1_000_000 + rng.randint(0, 999_999)
            full_refresh = command in ("run", "build") and rng.random() < 0.1
            invs.append(Invocation(
                env={}, target="dev", command=command, run_started_us=start, gcp_project=ANALYTICS, location="us",
                user_email=user, dataset=f"dbt_{user.split('@')[0]}", nodes=selected, invocation_id=new_uuid(rng),
                threads=4, plants=frozenset({"stopped"} if planted else set()), fail_rate=0.05,
                metadata_queries=rng.randint(1, 4) if command == "run-operation" else 2,
                selectors=tuple(n.name for n in selected) if command in ("run", "build", "test") else None,
                is_full_refresh=full_refresh,
            ))
        if day == self.plant_day:
            # a macro run by hand: no nodes, no on-run-end hooks, so no upload
            user = rng.choice(DEVELOPERS)
            invs.append(Invocation(
                env={}, target="dev", command="run-operation",
                run_started_us=self.day_start_us(day) + 11 * HOUR_US + rng.randint(0, 3_600_000_000),
                gcp_project=ANALYTICS, location="us", user_email=user, dataset=f"dbt_{user.split('@')[0]}", nodes=(),
                invocation_id=new_uuid(rng), threads=4, metadata_queries=2,
            ))
            # a run in a developer's own GCP project: run results whose jobs are in no JOBS view read
            user = rng.choice(DEVELOPERS)
            invs.append(Invocation(
                env={}, target="sandbox", command="run",
                run_started_us=self.day_start_us(day) + 12 * HOUR_US + rng.randint(0, 3_600_000_000),
                gcp_project=SANDBOX_PROJECT, location="us", user_email=user, dataset=f"sandbox_{user.split('@')[0]}",
                nodes=p.nodes("stg_ad_spend", "dim_channels", "fct_campaign_performance"),
                invocation_id=new_uuid(rng), threads=4, jobs_in_logs=False, selectors=("dim_channels+",),
            ))
        return invs

    # -- another team's dbt project: its own, non-JSON query comment ------------------------------
    def _growth_team(self, day: int) -> list[Invocation]:
        rng = self.rng(day, "growth")
        start = self.day_start_us(day) + 3 * HOUR_US + rng.randint(0, 600_000_000)
        return [Invocation(
            env={}, target="prod", command="run", run_started_us=start, gcp_project=ANALYTICS, location="us",
            user_email="growth-dbt@acme-analytics.iam.gserviceaccount.com", dataset="growth",
            nodes=GROWTH_NODES, invocation_id=new_uuid(rng), dbt_project="growth_dbt", threads=2,
            custom_comment="growth team nightly build (dbt)", metadata_queries=1,
        )]


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth for small means, normal approximation for large ones (deterministic with rng)."""
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, lam**0.5)))
    threshold = pow(2.718281828459045, -lam)
    k, prod = 0, rng.random()
    while prod > threshold:
        k += 1
        prod *= rng.random()
    return k
