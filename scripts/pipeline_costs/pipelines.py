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
GROWTH_NODES = (
    p.Node("growth_signups", "model", "models", (), "table", 2 * p.GiB, ("raw.signups",)),
    p.Node("growth_funnel", "model", "models", (), "table", 6 * p.GiB, ("raw.sessions",)),
    p.Node("growth_cohorts", "model", "models", (), "table", 1 * p.GiB, ("raw.signups",)),
)
DEVELOPERS = ("alice@acme.com", "bob@acme.com", "chen@acme.com")
ANOMALY_SCAN_MULTIPLIER = 10.0


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
        multipliers = {"int_orders_enriched": ANOMALY_SCAN_MULTIPLIER} if self.finance_runs == self.anomaly_run else {}
        self.finance_runs += 1
        start = self.day_start_us(day) + 5 * HOUR_US + rng.randint(5, 90) * 1_000_000 + rng.randint(0, 999_999)
        run = Invocation(
            env={**env, "AIRFLOW_CTX_TASK_ID": "dbt_run"}, target="prod", command="run", run_started_us=start,
            gcp_project=ANALYTICS, location="us", user_email="airflow-dbt@acme-analytics.iam.gserviceaccount.com",
            dataset="analytics", nodes=DAILY_FINANCE_RUN, invocation_id=new_uuid(rng), threads=4,
            scan_multipliers=multipliers, plants=frozenset({"anomaly"} if multipliers else set()),
        )
        invs = [run]
        if day == self.plant_day or rng.random() < 0.5:
            # second dbt task of the same dag run, started once dbt_run is done (~10 min later)
            invs.append(Invocation(
                env={**env, "AIRFLOW_CTX_TASK_ID": "dbt_test"}, target="prod", command="test",
                run_started_us=start + 20 * MINUTE_US + rng.randint(0, 120_000_000),
                gcp_project=ANALYTICS, location="us", user_email=run.user_email, dataset="analytics",
                nodes=DAILY_FINANCE_TEST, invocation_id=new_uuid(rng), threads=4,
            ))
        return invs

    def _unicode_dag(self, day: int) -> list[Invocation]:
        rng = self.rng(day, "unicode_dag")
        logical = self.start + timedelta(days=day - 1)
        start = self.day_start_us(day) + 6 * HOUR_US + 30 * MINUTE_US + rng.randint(0, 60_000_000)
        plants = {"dbt_cache_hit"} if day == self.plant_day else set()
        return [Invocation(
            env={
                "AIRFLOW_CTX_DAG_ID": UNICODE_DAG_ID,
                "AIRFLOW_CTX_DAG_RUN_ID": f"scheduled__{logical.isoformat()}T06:30:00+00:00",
                "AIRFLOW_CTX_TASK_ID": "dbt_build",
            },
            target="prod", command="build", run_started_us=start, gcp_project=ANALYTICS, location="us",
            user_email="airflow-dbt@acme-analytics.iam.gserviceaccount.com", dataset="finance_ru",
            nodes=p.NODES, invocation_id=new_uuid(rng), threads=4, plants=frozenset(plants),
        )]

    # -- dbt Cloud --------------------------------------------------------------------------------
    def _dbt_cloud(self, day: int) -> list[Invocation]:
        rng = self.rng(day, "dbt_cloud")
        jobs = max(1, round(self.scale))
        invs: list[Invocation] = []
        for hour in range(24):
            for k in range(jobs):
                if rng.random() < 0.08 and not (day == self.plant_day and hour == 2 and k == 0):
                    continue  # skipped / deduplicated by the scheduler
                minute = (7 + 3 * k) % 60
                start = (self.day_start_us(day) + hour * HOUR_US + minute * MINUTE_US
                         + rng.randint(0, 90_000_000))
                self.cloud_run_id += rng.randint(1, 4000)
                plants = {"corrupt_comment", "retry"} if (day == self.plant_day and hour == 2 and k == 0) else set()
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
                    plants=frozenset(plants),
                ))
        return invs

    # -- GitHub Actions CI ------------------------------------------------------------------------
    def _github_ci(self, day: int) -> list[Invocation]:
        rng = self.rng(day, "github_ci")
        runs = _poisson(rng, 4 * self.scale)
        if day == self.plant_day:
            runs = max(runs, 1)
        times = sorted(rng.randint(14 * 3600, 23 * 3600) for _ in range(runs))
        invs: list[Invocation] = []
        for i, seconds in enumerate(times):
            self.github_run_id += rng.randint(1, 900)
            planted = day == self.plant_day and i == 0
            models = rng.sample(p.MODELS, rng.randint(3, 8))
            if planted and p.NODES_BY_NAME["dim_channels"] not in models:
                models.append(p.NODES_BY_NAME["dim_channels"])
            chosen = {n.name for n in models}
            tests = [t for t in p.TESTS if t.upstream[0] in chosen]
            selected = tuple(n for n in p.NODES if n.name in chosen or n in tests)
            attempts = 2 if rng.random() < 0.1 else 1
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
                    },
                    target="ci", command="build", run_started_us=start + (attempt - 1) * 25 * MINUTE_US,
                    gcp_project=ANALYTICS, location="us",
                    user_email="github-ci@acme-analytics.iam.gserviceaccount.com", dataset=f"dbt_ci_pr_{pr}",
                    nodes=selected, invocation_id=new_uuid(rng), threads=4,
                    plants=frozenset({"node_error"} if planted and attempt == 1 else set()), fail_rate=0.02,
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
                scan_multipliers={n.name: 0.2 for n in EU_SYNC},
            ))
        return invs

    # -- developers (no orchestrator) -------------------------------------------------------------
    def _developers(self, day: int) -> list[Invocation]:
        rng = self.rng(day, "developers")
        runs = _poisson(rng, 3 * self.scale)
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
                models = set(rng.sample(p.MODELS, rng.randint(1, 6)))
                if planted:
                    models.add(p.NODES_BY_NAME["int_orders_enriched"])
                selected = tuple(n for n in p.NODES if n in models or (
                    command == "build" and n.resource_type == "test" and p.NODES_BY_NAME[n.upstream[0]] in models))
            start = self.day_start_us(day) + rng.randint(13 * 3600, 23 * 3600) * 1_000_000 + rng.randint(0, 999_999)
            invs.append(Invocation(
                env={}, target="dev", command=command, run_started_us=start, gcp_project=ANALYTICS, location="us",
                user_email=user, dataset=f"dbt_{user.split('@')[0]}", nodes=selected, invocation_id=new_uuid(rng),
                threads=4, plants=frozenset({"stopped"} if planted else set()), fail_rate=0.05,
                metadata_queries=rng.randint(1, 4) if command == "run-operation" else 2,
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


def _poisson(rng: random.Random, lam: float) -> int:
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
