"""The simulation: day by day, dbt invocations + noise -> JOBS rows, as seen at `as_of`.

Batches come out per region in creation_time order (rows of invocations that run past midnight are
carried into the next day's batch). Each batch keeps the bookkeeping columns; the writer drops them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline_costs import noise, run_results, schema
from pipeline_costs.databricks_rows import DatabricksSnapshot
from pipeline_costs.dbt_runs import (
    ArrivalModel,
    Invocation,
    InvocationRunner,
    Planted,
    billed_bytes,
    hex_id,
    query_hash,
)
from pipeline_costs.noise import ANALYSTS
from pipeline_costs.pipelines import DAY_MS, World
from pipeline_costs.rows import Job, jobs_to_table

GiB = 1024**3
ADAPTER_TYPE = "bigquery"  # dbt_invocations.adapter_type


@dataclass(frozen=True)
class GeneratorConfig:
    end_date: date
    days: int = 14
    seed: int = 42
    scale: float = 1.0
    as_of: datetime | None = None  # default: end_date 00:00 UTC
    currency: str = "USD"

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days)

    @property
    def as_of_time(self) -> datetime:
        if self.as_of is not None:
            return self.as_of
        return datetime(self.end_date.year, self.end_date.month, self.end_date.day, tzinfo=UTC)

    @property
    def end_ms(self) -> int:
        return (self.end_date - date(1970, 1, 1)).days * DAY_MS

    @property
    def as_of_ms(self) -> int:
        return int(self.as_of_time.timestamp() * 1000)


def _ms(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)


def visible(table: pa.Table, as_of_ms: int, end_ms: int) -> np.ndarray:
    """Rows present in JOBS at as_of: arrived by then, and created before the simulated period ends."""
    creation = _ms(table["creation_time"])
    arrival = table["_arrival_ms"].to_numpy()
    return (arrival <= as_of_ms) & (creation < as_of_ms) & (creation < end_ms)


def mark_unfinished(table: pa.Table, as_of_ms: int) -> pa.Table:
    """Jobs not finished at as_of: RUNNING (PENDING if not started), no end time, no statistics."""
    if table.num_rows == 0:
        return table
    end = _ms(table["end_time"])  # every simulated job has an end; the snapshot may hide it
    finished = end <= as_of_ms
    if finished.all():
        return table
    start = _ms(table["start_time"])
    pending = start > as_of_ms
    done_mask = pa.array(finished)
    state = np.where(finished, "DONE", np.where(pending, "PENDING", "RUNNING"))
    table = table.set_column(table.schema.get_field_index("state"), "state", pa.array(state, pa.string()))
    for name in (*schema.RUNNING_NULL_COLUMNS, "start_time"):
        mask = pa.array(~pending) if name == "start_time" else done_mask
        column = table[name].combine_chunks()
        table = table.set_column(
            table.schema.get_field_index(name), name, pc.if_else(mask, column, pa.scalar(None, column.type))
        )
    return table


@dataclass
class BigQueryGenerator:
    config: GeneratorConfig
    planted: list[Planted] = field(default_factory=list)
    invocation_count: int = 0
    # what the on-run-end uploads of the invocations finished by as_of left (run_results rows)
    invocation_rows: list[run_results.Row] = field(default_factory=list)
    node_result_rows: list[run_results.Row] = field(default_factory=list)

    def __post_init__(self) -> None:
        cfg = self.config
        self.world = World(seed=cfg.seed, days=cfg.days, start=cfg.start_date, scale=cfg.scale)
        self.arrival = ArrivalModel()

    # -- one day ----------------------------------------------------------------------------------
    def _dbt_jobs(self, day: int) -> list[Job]:
        jobs: list[Job] = []
        for inv in self.world.plan_day(day):
            runner = InvocationRunner(inv, random.Random(f"{self.config.seed}:inv:{inv.invocation_id}"), self.arrival)
            inv_jobs = runner.run()
            self.invocation_count += 1
            self.planted.extend(runner.planted)
            if "anomaly" in inv.plants:
                self.planted.extend(
                    Planted("cost_anomaly", j.project_id, j.location, j.job_id, inv.context()["pipeline_run_id"])
                    for j in inv_jobs if j.node_id and j.node_id.endswith(".int_orders_enriched")
                )
            if inv.custom_comment is not None and day == self.world.plant_day:
                self.planted.extend(
                    Planted("non_package_comment", j.project_id, j.location, j.job_id)
                    for j in inv_jobs if j.labels and j.statement_type != "SCRIPT"  # a SCRIPT parent is not priced
                )
            self._upload(inv, runner)
            if inv.jobs_in_logs:
                jobs.extend(inv_jobs)
        return jobs

    def _upload(self, inv: Invocation, runner: InvocationRunner) -> None:
        """Run results of an invocation whose upload finished within the period, by as_of."""
        if not runner.uploaded_by(self.config.as_of_ms, self.config.end_ms):
            return
        invocation, nodes = run_results.invocation_rows(runner, run_results.bigquery_node_row, ADAPTER_TYPE)
        copies = 2 if "duplicate_upload" in inv.plants else 1  # the hook's statements ran twice
        for _ in range(copies):
            self.invocation_rows.append(invocation)
            self.node_result_rows.extend(nodes)
        reported = [r for r in nodes if r["adapter_job_id"] is not None]
        if copies == 2 and reported:
            first = reported[0]
            self.planted.append(Planted("duplicate_upload", first["adapter_project_id"], inv.location,
                                        first["adapter_job_id"], inv.invocation_id))
        if not inv.jobs_in_logs:
            self.planted.extend(Planted("result_job_not_in_logs", r["adapter_project_id"], inv.location,
                                        r["adapter_job_id"], r["node_id"]) for r in reported)

    def run_results(self, databricks: DatabricksSnapshot | None = None) -> dict[str, pa.Table]:
        """dbt_invocations and dbt_node_results (call after batches() is exhausted), with the Databricks
        invocations' rows after BigQuery's."""
        invocations, nodes = self.invocation_rows, self.node_result_rows
        if databricks is not None:
            invocations, nodes = invocations + databricks.invocation_rows, nodes + databricks.node_result_rows
        return {
            "dbt_invocations": run_results.to_table("dbt_invocations", invocations),
            "dbt_node_results": run_results.to_table("dbt_node_results", nodes),
        }

    def _hand_made_noise(self, day: int) -> list[Job]:
        """Non-dbt scripts, the orphan script child, a hidden-bytes query, a job running at the end."""
        rng = random.Random(f"{self.config.seed}:hand_made:{day}")
        day_ms = self.world.day_start_us(day) // 1000
        jobs: list[Job] = []
        scripts = max(1, round(rng.gauss(5 * self.config.scale, (5 * self.config.scale) ** 0.5)))
        for _ in range(scripts):
            jobs.extend(self._user_script(rng, day_ms + rng.randint(14 * 3_600_000, 23 * 3_600_000)))
        if day == self.world.plant_day:
            orphan = self._user_script(rng, day_ms + 16 * 3_600_000)[1]  # its parent row is never written
            jobs.append(orphan)
            self.planted.append(Planted("orphan_script_child", orphan.project_id, orphan.location, orphan.job_id))
            hidden = self._adhoc(rng, day_ms + 17 * 3_600_000, 5 * GiB)
            hidden.bytes_processed = hidden.bytes_billed = None
            jobs.append(hidden)
            self.planted.append(Planted("hidden_bytes", hidden.project_id, hidden.location, hidden.job_id))
        if day == self.config.days - 1:
            running = self._adhoc(rng, self.config.end_ms - 30_000, 200 * GiB)
            running.end_ms = running.start_ms + 10 * 60_000
            running.arrival_ms = running.creation_ms
            jobs.append(running)
            self.planted.append(Planted("running_at_end", running.project_id, running.location, running.job_id))
        return jobs

    def _adhoc(self, rng: random.Random, t: int, scanned: int) -> Job:
        start = t + rng.randint(20, 300)
        sql = "select * from `acme-analytics.raw.events` where user_id in (select user_id from `acme-analytics.raw.orders`)"
        return Job(
            job_id=f"bquxjob_{hex_id(rng, 8)}_{hex_id(rng, 11)}", project_id="acme-analytics", location="us",
            user_email=rng.choice(ANALYSTS), creation_ms=t, start_ms=start, end_ms=start + rng.randint(2000, 60000),
            arrival_ms=t + self.arrival.delay_ms(rng), query=sql, bytes_processed=scanned,
            bytes_billed=billed_bytes(scanned), slot_ms=rng.randint(10_000, 5_000_000), query_hash=query_hash(sql),
            referenced=[("acme-analytics", "raw", "events"), ("acme-analytics", "raw", "orders")],
        )

    def _user_script(self, rng: random.Random, t: int) -> list[Job]:
        user = rng.choice(ANALYSTS)
        statements = [
            ("SELECT", "set max_day = (select max(order_date) from `acme-analytics.raw.orders`)",
             rng.randint(10, 500) * 1024**2),
            ("CREATE_TABLE_AS_SELECT", ("create temp table recent as select * from `acme-analytics.raw.orders` "
                                        "where order_date > max_day - 7"), rng.randint(1, 20) * GiB),
            ("SELECT", "select count(*) from recent", 0),
        ][: rng.randint(2, 3)]
        script = "declare max_day date;\n" + ";\n".join(s for _, s, _ in statements) + ";"
        parent = Job(
            job_id=f"bquxjob_{hex_id(rng, 8)}_{hex_id(rng, 11)}", project_id="acme-analytics", location="us",
            user_email=user, creation_ms=t, start_ms=t + rng.randint(20, 200), end_ms=0,
            arrival_ms=t + self.arrival.delay_ms(rng), statement_type="SCRIPT", query=script, cache_hit=None,
            query_hash=query_hash(script),
        )
        script_hash = hex_id(rng, 32)
        cursor = parent.start_ms + rng.randint(30, 200)
        kids = []
        for i, (statement_type, sql, scanned) in enumerate(statements):
            duration = rng.randint(200, 20000)
            start = cursor + rng.randint(5, 50)
            kids.append(Job(
                job_id=f"script_job_{script_hash}_{i}", parent_job_id=parent.job_id, project_id=parent.project_id,
                location="us", user_email=user, creation_ms=cursor, start_ms=start, end_ms=start + duration,
                arrival_ms=max(cursor + self.arrival.delay_ms(rng), parent.arrival_ms), statement_type=statement_type,
                query=sql, bytes_processed=scanned, bytes_billed=billed_bytes(scanned) if scanned else 0,
                slot_ms=duration * rng.randint(1, 40) if scanned else 0, query_hash=query_hash(sql),
                source="script_parent",
            ))
            cursor = start + duration + rng.randint(10, 100)
        parent.end_ms = cursor + rng.randint(20, 200)
        parent.bytes_processed = sum(k.bytes_processed or 0 for k in kids)
        parent.bytes_billed = sum(k.bytes_billed or 0 for k in kids)
        parent.slot_ms = sum(k.slot_ms or 0 for k in kids)
        return [parent, *kids]

    def _noise(self, day: int, region: str) -> list[pa.Table]:
        tables = []
        day_ms = self.world.day_start_us(day) // 1000
        for k, kind in enumerate(noise.NOISE_KINDS):
            if kind.location != region:
                continue
            rng = np.random.default_rng([self.config.seed, day, k, 7919])
            n = kind.count(self.config.scale, rng)
            if n:
                tables.append(noise.generate_kind(kind, n, day_ms, rng))
        return tables

    def _duplicate_positions(self, table: pa.Table, rows: np.ndarray, day: int, region: str) -> np.ndarray:
        """Which of `rows` (indices into table) also get an exact duplicate row."""
        if len(rows) == 0:
            return rows
        rng = np.random.default_rng([self.config.seed, day, 104729, schema.REGIONS.index(region)])
        count = min(len(rows), max(1, round(len(rows) * 0.0003)))
        chosen = set(rng.choice(len(rows), size=count, replace=False).tolist())
        if day == self.world.plant_day and region == "us":
            # one dbt job's row too (finished by as_of, so the copy is a DONE row)
            is_dbt = table["_invocation_id"].is_valid().to_numpy(zero_copy_only=False)[rows]
            finished = _ms(table["end_time"])[rows] <= self.config.as_of_ms
            candidates = np.flatnonzero(is_dbt & finished)
            if len(candidates):
                chosen.add(int(candidates[len(candidates) // 2]))
        positions = np.array(sorted(chosen), dtype=np.int64)
        project = table["project_id"].take(pa.array(rows[positions])).to_pylist()
        job_id = table["job_id"].take(pa.array(rows[positions])).to_pylist()
        dbt = table["_invocation_id"].is_valid().take(pa.array(rows[positions])).to_pylist()
        for p, j, d in zip(project, job_id, dbt, strict=True):
            self.planted.append(Planted("duplicate_row", p, region, j, "dbt" if d else ""))
        return positions

    # -- all days -------------------------------------------------------------------------------
    def batches(self) -> Iterator[tuple[str, pa.Table]]:
        """(region, batch) in creation_time order per region, after the as_of snapshot."""
        cfg = self.config
        carry: dict[str, pa.Table | None] = {region: None for region in schema.REGIONS}
        for day in range(cfg.days):
            row_jobs = self._dbt_jobs(day) + self._hand_made_noise(day)
            row_table = jobs_to_table(row_jobs)
            location = row_table["_location"].to_numpy(zero_copy_only=False)
            next_day_ms = self.world.day_start_us(day + 1) // 1000
            for region in schema.REGIONS:
                parts = [row_table.filter(pa.array(location == region)), *self._noise(day, region)]
                previous = carry[region]
                if previous is not None:
                    parts.insert(0, previous)
                combined = pa.concat_tables(parts)
                creation = _ms(combined["creation_time"])
                order = np.argsort(creation, kind="stable")
                cut = len(order) if day == cfg.days - 1 else int(
                    np.searchsorted(creation[order], next_day_ms, side="left"))
                carry[region] = combined.take(pa.array(order[cut:])) if cut < len(order) else None
                rows = order[:cut]
                rows = rows[visible(combined, cfg.as_of_ms, cfg.end_ms)[rows]]
                copies = np.ones(len(rows), dtype=np.int64)
                copies[self._duplicate_positions(combined, rows, day, region)] = 2
                batch = combined.take(pa.array(np.repeat(rows, copies)))
                yield region, mark_unfinished(batch, cfg.as_of_ms)
