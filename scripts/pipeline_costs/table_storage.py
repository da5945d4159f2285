"""The simulated INFORMATION_SCHEMA.TABLE_STORAGE of project acme-analytics, per region, at as_of.

Which tables exist (one row each; views are never in TABLE_STORAGE):
- production datasets, every table the pipeline writing there builds or reads (models materialized as
  tables or incrementals, seeds; fct_channel_forecast never builds): `analytics` (daily_finance and
  the SAO jobs), `finance_ru` (the Unicode DAG, the whole project), `marketing` (the hourly dbt Cloud
  job), `growth` (another team's dbt project) in `us`, `analytics_eu` in `eu`;
- developers' and CI datasets (`dbt_<user>`, `dbt_ci_pr_<n>`): the tables the visible jobs there
  wrote successfully (models and seed loads);
- `raw`: the sources (orders, customers, payments, sessions, ad_spend, signups) and `raw.events`;
- EXTRAS: tables no dbt node builds, a dropped table still in time travel (analytics.stg_orders, a
  model switched from table to view), one only in fail-safe (marketing.fct_attribution_v1), and
  raw.customers, dropped and created again by its loader (two rows: the live table and the deleted one).

Sizes are explicit and deterministic from the seed (`_logical_sizes`). Planted for the profiler: in
`analytics` fct_orders + currency_codes are exactly fct_revenue's Node.scanned_bytes (it reads all of
its referenced tables: an unpartitioned scan); every other model's referenced tables (views resolved
to the raw tables they select from) hold SCAN_MULTIPLIER x its scanned bytes or more (>= 5x). How
bytes are stored differs per dataset (`PROFILES`): raw data compresses well and barely changes
(cheaper under physical billing), tables rebuilt every hour leave many copies in time travel and
fail-safe (cheaper under logical billing).

Bookkeeping per table (what the generator knows, for storage_truth): `builder` (the node that builds it,
None for other tables), `written_by` (node id of the best visible successful dbt job that wrote it)
and the datasets dbt jobs write to.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from pipeline_costs import pipelines
from pipeline_costs import project as p
from pipeline_costs.rows import PROJECT_NUMBERS

PROJECT = pipelines.ANALYTICS
RAW = "raw"
KiB = 1024
MiB = 1024**2
GiB = 1024**3
DAY_MS = 86_400_000
TIME_TRAVEL_DAYS = 7
FAIL_SAFE_DAYS = 7
LONG_TERM_DAYS = 90
# The integration project's dbt_pipeline_costs_bigquery_physical_billing_datasets (a test checks they agree).
PHYSICAL_BILLING_DATASETS = ("marketing", f"{PROJECT}.finance_ru")
SCAN_MULTIPLIER = (6.0, 10.0)  # referenced tables / a model's scanned bytes (the plant needs >= 5)
UNPARTITIONED_MODEL = "fct_revenue"  # reads all of its referenced tables
PLANT_DATASET = ("us", "analytics")

TS = pa.timestamp("ms", tz="UTC")
TABLE_STORAGE_SCHEMA = pa.schema([
    ("project_id", pa.string()),
    ("project_number", pa.int64()),
    ("table_catalog", pa.string()),
    ("table_schema", pa.string()),
    ("table_name", pa.string()),
    ("creation_time", TS),
    ("total_rows", pa.int64()),
    ("total_partitions", pa.int64()),
    ("total_logical_bytes", pa.int64()),
    ("active_logical_bytes", pa.int64()),
    ("long_term_logical_bytes", pa.int64()),
    ("current_physical_bytes", pa.int64()),
    ("total_physical_bytes", pa.int64()),
    ("active_physical_bytes", pa.int64()),
    ("long_term_physical_bytes", pa.int64()),
    ("time_travel_physical_bytes", pa.int64()),
    ("storage_last_modified_time", TS),
    ("deleted", pa.bool_()),
    ("table_type", pa.string()),
    ("fail_safe_physical_bytes", pa.int64()),
    ("last_metadata_index_refresh_time", TS),
])
_DUCKDB_TYPES = {pa.string(): "VARCHAR", pa.int64(): "BIGINT", TS: "TIMESTAMPTZ", pa.bool_(): "BOOLEAN"}
TABLE_STORAGE_DDL = ", ".join(f"{f.name} {_DUCKDB_TYPES[f.type]}" for f in TABLE_STORAGE_SCHEMA)
TABLE_NAME = "table_storage"  # the integration project's dbt_pipeline_costs_bigquery_table_storage_identifier


def table_storage_table(region: str) -> str:
    return f'"region-{region}".{TABLE_NAME}'


@dataclass(frozen=True)
class Profile:
    """How a dataset's tables are stored: ranges drawn per table from the seed."""

    compression: tuple[float, float]  # logical / physical bytes
    time_travel: tuple[float, float]  # time-travel physical bytes per current physical byte (modified in 7 days)
    fail_safe: tuple[float, float]  # fail-safe physical bytes per current physical byte (modified in 14 days)
    long_term: tuple[float, float]  # share unmodified 90+ days, of a partitioned table (incremental, raw)
    scale: float = 1.0  # logical size against the production sizes
    partial_rewrite: float = 0.3  # an incremental rewrites this share of what a full rebuild would


PROFILES: dict[str, Profile] = {
    RAW: Profile((9.0, 12.0), (0.01, 0.03), (0.01, 0.03), (0.6, 0.8)),  # append-only, compresses well
    "analytics": Profile((4.0, 6.0), (2.0, 4.0), (2.0, 4.0), (0.4, 0.7)),  # rebuilt by several jobs a day
    "marketing": Profile((3.0, 4.0), (10.0, 20.0), (10.0, 20.0), (0.3, 0.5)),  # rebuilt every hour
    "finance_ru": Profile((6.0, 8.0), (0.3, 0.6), (0.3, 0.6), (0.4, 0.7)),  # rebuilt daily, compresses well
    "growth": Profile((4.0, 5.0), (0.5, 1.0), (0.5, 1.0), (0.4, 0.7)),
    "analytics_eu": Profile((5.0, 7.0), (0.8, 1.2), (0.8, 1.2), (0.4, 0.7), scale=0.2),
}
DEV_PROFILE = Profile((4.0, 6.0), (0.0, 0.3), (0.0, 0.3), (0.0, 0.0), scale=0.02)  # dbt_<user>, dbt_ci_pr_<n>

# (location, dataset) -> the nodes the pipeline writing there builds (pipelines.py)
PRODUCTION: dict[tuple[str, str], tuple[p.Node, ...]] = {
    ("us", "analytics"): pipelines.DAILY_FINANCE_RUN + tuple(n for job in pipelines.SAO_JOBS for n in job.nodes),
    ("us", "finance_ru"): p.NODES,
    ("us", "marketing"): pipelines.CLOUD_BUILD,
    ("us", "growth"): pipelines.GROWTH_NODES,
    ("eu", "analytics_eu"): pipelines.EU_SYNC,
}
ALL_NODES: dict[str, p.Node] = {n.name: n for n in (*p.NODES, *pipelines.GROWTH_NODES)}
RAW_TABLES = ("orders", "customers", "payments", "sessions", "ad_spend", "signups", "events")


@dataclass(frozen=True)
class Extra:
    """A table no pipeline above builds (or a dropped one), sized explicitly."""

    location: str
    dataset: str
    table: str
    logical: int
    compression: float
    long_term: float
    time_travel: float  # per current physical byte
    fail_safe: float
    modified_days_ago: int
    dropped_days_ago: int | None = None  # a deleted table: all of its bytes are time travel, then fail-safe
    builder: str | None = None


EXTRAS: tuple[Extra, ...] = (
    # non-dbt tables: an event log, its archive, a BI tool's cache in a dbt dataset, a manual upload
    Extra("us", RAW, "events_archive_2023", 900 * GiB, 14.0, 1.0, 0.0, 0.0, 400),
    Extra("us", "analytics", "looker_pdt_orders_daily", 6 * GiB, 5.0, 0.0, 3.0, 3.0, 0),
    Extra("us", "marketing", "campaign_uploads_manual", 40 * MiB, 3.0, 0.0, 0.5, 0.5, 2),
    Extra("eu", "analytics_eu", "gdpr_erasure_log", 300 * MiB, 6.0, 0.5, 0.1, 0.1, 1),
    # a model switched from table to view 3 days ago: its old table is still billed for time travel
    Extra("us", "analytics", "stg_orders", 30 * GiB, 5.0, 0.0, 1.0, 0.0, 30, dropped_days_ago=3,
          builder=p.NODES_BY_NAME["stg_orders"].unique_id),
    # a removed model's table, dropped 10 days ago: past time travel, in fail-safe
    Extra("us", "marketing", "fct_attribution_v1", 250 * GiB, 3.5, 0.0, 0.0, 1.0, 40, dropped_days_ago=10),
)
# raw.customers was dropped and loaded again 2 days ago: its previous version is still in time travel.
RELOADED = ("us", RAW, "customers", 2)


@dataclass
class StoredTable:
    """One row of TABLE_STORAGE, with the generator's bookkeeping."""

    location: str
    dataset: str
    table: str
    created_ms: int
    modified_ms: int
    logical: int
    long_term_logical: int
    current_physical: int
    long_term_physical: int
    time_travel: int
    fail_safe: int
    rows: int
    partitions: int
    deleted: bool = False
    table_type: str = "BASE TABLE"
    builder: str | None = None  # the node that builds the table (None: no dbt node)
    written_by: str | None = None  # node id of the best visible successful dbt job that wrote it

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.location, self.dataset, self.table)

    @property
    def active_logical(self) -> int:
        return self.logical - self.long_term_logical

    @property
    def active_physical(self) -> int:
        """Active physical bytes include the time-travel bytes (Google's definition)."""
        return self.current_physical - self.long_term_physical + self.time_travel

    @property
    def total_physical(self) -> int:
        """Active + long-term; fail-safe bytes are not in it."""
        return self.active_physical + self.long_term_physical

    def row(self) -> dict[str, object]:
        return {
            "project_id": PROJECT, "project_number": PROJECT_NUMBERS[PROJECT], "table_catalog": PROJECT,
            "table_schema": self.dataset, "table_name": self.table,
            "creation_time": datetime.fromtimestamp(self.created_ms / 1000, tz=UTC),
            "total_rows": self.rows, "total_partitions": self.partitions,
            "total_logical_bytes": self.logical, "active_logical_bytes": self.active_logical,
            "long_term_logical_bytes": self.long_term_logical, "current_physical_bytes": self.current_physical,
            "total_physical_bytes": self.total_physical, "active_physical_bytes": self.active_physical,
            "long_term_physical_bytes": self.long_term_physical, "time_travel_physical_bytes": self.time_travel,
            "storage_last_modified_time": datetime.fromtimestamp(self.modified_ms / 1000, tz=UTC),
            "deleted": self.deleted, "table_type": self.table_type, "fail_safe_physical_bytes": self.fail_safe,
            "last_metadata_index_refresh_time": None,
        }


@dataclass
class Write:
    """Visible jobs that wrote one table (destination), as the snapshot shows them."""

    first_ms: int | None = None  # first / last successful write (DONE, no error)
    last_ms: int | None = None
    best: tuple[bool, int, str] | None = None  # ranking of the best dbt job with a node (see _rank)
    node_id: str | None = None

    def offer(self, rank: tuple[bool, int, str], node_id: str) -> None:
        if self.best is None or rank < self.best:
            self.best, self.node_id = rank, node_id


@dataclass
class StorageSnapshot:
    tables: list[StoredTable]
    dbt_datasets: frozenset[tuple[str, str]]  # (location, dataset) written by a visible DONE dbt job
    as_of_ms: int

    def arrow(self, region: str) -> pa.Table:
        return pa.Table.from_pylist([t.row() for t in self.tables if t.location == region],
                                    schema=TABLE_STORAGE_SCHEMA)


@dataclass
class TableStorageCollector:
    """Keeps, from every written JOBS batch, what the visible finished jobs wrote (destination tables):
    per table the first and last successful write and the best job with an exact node id; jobs of dbt
    invocations whose node may still come from a node result wait for the run results (`pending`)."""

    writes: dict[tuple[str, str, str], Write] = field(default_factory=dict)
    # (location, dataset, table) -> [(job_id, parent_job_id, end_ms, node_id, source)]
    pending: dict[tuple[str, str, str], list[tuple[str, str | None, int, str | None, str]]] = field(
        default_factory=dict)
    dbt_datasets: set[tuple[str, str]] = field(default_factory=set)

    def add(self, batch: pa.Table) -> None:
        dest = batch["destination_table"]
        project = pc.struct_field(dest, "project_id")
        dataset = pc.struct_field(dest, "dataset_id")
        keep = pc.and_(pc.equal(project, PROJECT), pc.invert(pc.starts_with(dataset, "_")))
        keep = pc.and_(keep, pc.equal(batch["state"], "DONE"))
        rows = batch.filter(pc.fill_null(keep, False))
        if rows.num_rows == 0:
            return
        dest = rows["destination_table"]
        columns = zip(
            rows["_location"].to_pylist(), pc.struct_field(dest, "dataset_id").to_pylist(),
            pc.struct_field(dest, "table_id").to_pylist(), rows["job_id"].to_pylist(),
            rows["parent_job_id"].to_pylist(), pc.cast(rows["end_time"], pa.int64()).to_pylist(),
            pc.struct_field(rows["error_result"], "reason").to_pylist(), rows["_node_id"].to_pylist(),
            rows["_source"].to_pylist(), rows["_invocation_id"].to_pylist(),
            strict=True,
        )
        for location, dataset, table, job_id, parent, end_ms, reason, node_id, source, invocation_id in columns:
            if invocation_id is not None:
                self.dbt_datasets.add((location, dataset))
            if reason is not None:
                continue
            key = (location, dataset, table)
            write = self.writes.setdefault(key, Write())
            write.first_ms = end_ms if write.first_ms is None else min(write.first_ms, end_ms)
            write.last_ms = end_ms if write.last_ms is None else max(write.last_ms, end_ms)
            if node_id is not None and source in ("comment", "script_parent"):
                write.offer(_rank(source, end_ms, job_id), node_id)
            elif invocation_id is not None:
                self.pending.setdefault(key, []).append((job_id, parent, end_ms, node_id, source))

    def snapshot(self, seed: int, as_of_ms: int, node_results: pa.Table | None = None) -> StorageSnapshot:
        """The TABLE_STORAGE rows at as_of. node_results: the uploaded run results; a job whose node
        did not come from the package's comment takes the node of the result that reported its job id
        (a script child: its parent's), as the package's second attribution path does."""
        reported: dict[str, str] = {}
        if node_results is not None:
            for row in node_results.select(["adapter_job_id", "adapter_project_id", "node_id"]).to_pylist():
                if row["adapter_job_id"] is not None and row["adapter_project_id"] in (None, PROJECT):
                    reported[row["adapter_job_id"]] = row["node_id"]
        for key, jobs in self.pending.items():
            for job_id, parent, end_ms, node_id, source in jobs:
                if parent is None and job_id in reported:
                    node_id, source = reported[job_id], "adapter_response"
                elif parent is not None and parent in reported:
                    node_id, source = reported[parent], "script_parent"
                if node_id is not None:
                    self.writes[key].offer(_rank(source, end_ms, job_id), node_id)
        return build_snapshot(seed, as_of_ms, self.writes, frozenset(self.dbt_datasets))


def _rank(source: str, end_ms: int, job_id: str) -> tuple[bool, int, str]:
    """Smaller is better: a node id not read from a label (lossy), then the latest, then the smallest job id."""
    return (source == "label", -end_ms, job_id)


# ---------------------------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------------------------
def references(node: p.Node) -> list[str]:
    """The tables a node reads: upstream models and seeds by name, views resolved to what they select
    from, sources as 'raw.<table>'."""
    found: list[str] = []
    for name in node.upstream:
        upstream = ALL_NODES.get(name)
        if "." in name or upstream is None:
            found.append(name)
        elif upstream.materialization == "view":
            found.extend(references(upstream))
        else:
            found.append(name)
    return found


def _is_table(node: p.Node) -> bool:
    return node.resource_type in ("model", "seed") and node.materialization != "view" and node.name != p.BROKEN_MODEL


def _logical_sizes(seed: int) -> dict[str, int]:
    """Production logical bytes of every table ('raw.<table>' for sources), by name."""
    rng = random.Random(f"{seed}:table_storage:sizes")
    need: dict[str, int] = {}
    for node in ALL_NODES.values():
        if node.resource_type != "model" or node.scanned_bytes <= 0 or node.name == UNPARTITIONED_MODEL:
            continue
        refs = references(node)
        carriers = [r for r in refs if ALL_NODES.get(r) is None or ALL_NODES[r].resource_type != "seed"] or refs
        need[carriers[0]] = max(need.get(carriers[0], 0), math.ceil(rng.uniform(*SCAN_MULTIPLIER) * node.scanned_bytes))
    sizes: dict[str, int] = {}
    for name in sorted({n.name for n in ALL_NODES.values() if _is_table(n)} | {f"{RAW}.{t}" for t in RAW_TABLES}):
        node = ALL_NODES.get(name)
        if name in need:
            sizes[name] = need[name]
        elif node is not None and node.resource_type == "seed":
            sizes[name] = rng.randint(8, 64) * KiB
        elif node is None:
            sizes[name] = int(rng.uniform(2, 6) * GiB) if name != f"{RAW}.events" else int(rng.uniform(3, 5) * 1024 * GiB)
        else:
            sizes[name] = int(node.scanned_bytes * rng.uniform(0.25, 0.75))
    # the planted unpartitioned scan: fct_revenue's referenced tables hold exactly what it scans
    plant = ALL_NODES[UNPARTITIONED_MODEL]
    refs = references(plant)
    target = next(r for r in refs if r in ALL_NODES and ALL_NODES[r].resource_type == "model")
    sizes[target] = plant.scanned_bytes - sum(sizes[r] for r in refs if r != target)
    assert sizes[target] > 0 and target not in need, f"cannot size {UNPARTITIONED_MODEL}'s inputs {refs}"
    return sizes


def referenced_bytes(node: p.Node, sizes: dict[str, int]) -> int:
    """Logical bytes of the tables a model reads in a dataset sized by `sizes`."""
    return sum(sizes[r] for r in references(node))


# ---------------------------------------------------------------------------------------------
# The snapshot
# ---------------------------------------------------------------------------------------------
def _dataset_tables(nodes: Iterable[p.Node]) -> dict[str, p.Node | None]:
    """Tables a production dataset holds: the tables its pipeline builds and the non-source ones they read."""
    names: dict[str, p.Node | None] = {}
    for node in nodes:
        if _is_table(node):
            names[node.name] = node
            for ref in references(node):
                if "." not in ref:
                    names[ref] = ALL_NODES[ref]
    return dict(sorted(names.items()))


def _stored(rng: random.Random, key: tuple[str, str, str], profile: Profile, logical: int, *, partitioned: bool,
            created_ms: int, modified_ms: int, as_of_ms: int, builder: str | None) -> StoredTable:
    age_days = (as_of_ms - modified_ms) / DAY_MS
    compression = rng.uniform(*profile.compression)
    current = max(1, int(logical / compression)) if logical else 0
    if age_days >= LONG_TERM_DAYS:
        long_term_share = 1.0
    elif partitioned:
        long_term_share = rng.uniform(*profile.long_term)
    else:
        long_term_share = 0.0
    churn = profile.partial_rewrite if partitioned else 1.0
    time_travel = int(current * rng.uniform(*profile.time_travel) * churn) if age_days < TIME_TRAVEL_DAYS else 0
    fail_safe = (int(current * rng.uniform(*profile.fail_safe) * churn)
                 if age_days < TIME_TRAVEL_DAYS + FAIL_SAFE_DAYS else 0)
    return StoredTable(
        location=key[0], dataset=key[1], table=key[2], created_ms=created_ms, modified_ms=modified_ms,
        logical=logical, long_term_logical=int(logical * long_term_share), current_physical=current,
        long_term_physical=int(current * long_term_share), time_travel=time_travel, fail_safe=fail_safe,
        rows=logical // rng.randint(80, 400), partitions=rng.randint(200, 1500) if partitioned else 0,
        builder=builder,
    )


def build_snapshot(seed: int, as_of_ms: int, writes: dict[tuple[str, str, str], Write],
                   dbt_datasets: frozenset[tuple[str, str]]) -> StorageSnapshot:
    sizes = _logical_sizes(seed)
    tables: list[StoredTable] = []

    def rng_for(key: tuple[str, str, str], part: str = "") -> random.Random:
        return random.Random(f"{seed}:table_storage:{':'.join(key)}{part}")

    def history(rng: random.Random, key: tuple[str, str, str]) -> tuple[int, int]:
        """(created, last modified): from the visible writes, else long before the period."""
        write = writes.get(key)
        created = as_of_ms - rng.randint(120, 900) * DAY_MS
        if write is None or write.last_ms is None:
            modified = as_of_ms - rng.randint(100, 110) * DAY_MS
            return created, max(created, modified)
        return min(created, write.first_ms or created), write.last_ms

    # production datasets and raw
    for (location, dataset), nodes in PRODUCTION.items():
        profile = PROFILES[dataset]
        jitter_rng = random.Random(f"{seed}:table_storage:{location}:{dataset}:scale")
        for name, node in _dataset_tables(nodes).items():
            key = (location, dataset, name)
            rng = rng_for(key)
            jitter = 1.0 if (location, dataset) == PLANT_DATASET else jitter_rng.uniform(0.9, 1.1)
            created, modified = history(rng, key)
            partitioned = node is not None and node.materialization in ("insert_overwrite", "merge")
            if node is not None and node.materialization == "table" and writes.get(key) is not None:
                created = modified  # create or replace: a new table every build
            tables.append(_stored(rng, key, profile, int(sizes[name] * profile.scale * jitter), partitioned=partitioned,
                                  created_ms=created, modified_ms=modified, as_of_ms=as_of_ms,
                                  builder=node.unique_id if node is not None else None))
    for name in RAW_TABLES:
        key = ("us", RAW, name)
        rng = rng_for(key)
        created, modified = history(rng, key)
        modified = max(modified, as_of_ms - rng.randint(1, 6) * 3_600_000)  # loaded a few hours ago
        tables.append(_stored(rng, key, PROFILES[RAW], sizes[f"{RAW}.{name}"], partitioned=True,
                              created_ms=created, modified_ms=modified, as_of_ms=as_of_ms, builder=None))

    # developers' and CI datasets: what the visible jobs built there
    for key in sorted(writes):
        location, dataset, name = key
        node = ALL_NODES.get(name)
        if ((location, dataset) in PRODUCTION or dataset == RAW or node is None or not _is_table(node)
                or node.package != p.PROJECT_NAME):
            continue
        write = writes[key]
        rng = rng_for(key)
        partitioned = node.materialization in ("insert_overwrite", "merge")
        tables.append(_stored(rng, key, DEV_PROFILE, int(sizes[name] * DEV_PROFILE.scale * rng.uniform(0.5, 1.5)),
                              partitioned=partitioned, created_ms=write.first_ms or as_of_ms,
                              modified_ms=write.last_ms or as_of_ms, as_of_ms=as_of_ms, builder=node.unique_id))

    # explicit extras and dropped tables
    for extra in EXTRAS:
        key = (extra.location, extra.dataset, extra.table)
        rng = rng_for(key)
        modified = as_of_ms - extra.modified_days_ago * DAY_MS - rng.randint(0, 3_600_000)
        created = modified - rng.randint(30, 700) * DAY_MS
        tables.append(_extra(extra, rng, created, modified, as_of_ms))
    location, dataset, name, days = RELOADED
    live = next(t for t in tables if t.key == (location, dataset, name))
    rng = rng_for(live.key, ":previous")
    dropped = as_of_ms - days * DAY_MS
    previous = _stored(rng, live.key, PROFILES[RAW], int(live.logical * rng.uniform(0.9, 1.0)), partitioned=True,
                       created_ms=live.created_ms - rng.randint(200, 600) * DAY_MS, modified_ms=dropped,
                       as_of_ms=as_of_ms, builder=None)
    tables.append(_dropped(previous, as_of_ms, dropped))
    live.created_ms = dropped + rng.randint(1000, 60_000)  # the new table, loaded since
    live.modified_ms = max(live.modified_ms, live.created_ms)
    live.long_term_logical = live.long_term_physical = 0

    for table in tables:
        write = writes.get(table.key)
        table.written_by = write.node_id if write is not None else None
    tables.sort(key=lambda t: (t.location, t.dataset, t.table, t.created_ms))
    return StorageSnapshot(tables, dbt_datasets, as_of_ms)


def _extra(extra: Extra, rng: random.Random, created: int, modified: int, as_of_ms: int) -> StoredTable:
    current = int(extra.logical / extra.compression)
    table = StoredTable(
        location=extra.location, dataset=extra.dataset, table=extra.table, created_ms=created, modified_ms=modified,
        logical=extra.logical, long_term_logical=int(extra.logical * extra.long_term), current_physical=current,
        long_term_physical=int(current * extra.long_term), time_travel=int(current * extra.time_travel),
        fail_safe=int(current * extra.fail_safe), rows=extra.logical // rng.randint(80, 400),
        partitions=rng.randint(100, 900) if extra.long_term else 0, builder=extra.builder,
    )
    if extra.dropped_days_ago is None:
        return table
    return _dropped(table, as_of_ms, as_of_ms - extra.dropped_days_ago * DAY_MS)


def _dropped(table: StoredTable, as_of_ms: int, dropped_ms: int) -> StoredTable:
    """The table as TABLE_STORAGE shows it once dropped: deleted, no current bytes, all of them kept for
    time travel for 7 days, then fail-safe for 7 more; the logical byte columns as last reported."""
    days = (as_of_ms - dropped_ms) / DAY_MS
    kept = table.current_physical
    table.deleted = True
    table.modified_ms = min(table.modified_ms, dropped_ms)
    table.time_travel = kept if days < TIME_TRAVEL_DAYS else 0
    table.fail_safe = kept if TIME_TRAVEL_DAYS <= days < TIME_TRAVEL_DAYS + FAIL_SAFE_DAYS else 0
    table.current_physical = table.long_term_physical = 0
    return table
