"""Ground truth of storage_costs and storage_dataset_costs (docs/cost-rules.md section 11), from the
TABLE_STORAGE rows the generator wrote and its bookkeeping (table_storage.StorageSnapshot).

Money is exact: each price is applied to an integer byte count in 10^-18 units of the output currency
and cut below 10^-18, as the package's price_quantity() does (DuckDB): the price, converted to the
output currency, is taken to 18 decimals first. Nothing else is rounded; sums are exact.

The node of a table is what the generator knows: the node of the latest visible successful dbt job
that wrote it (a node id from a label only when no other job did), else, in a dataset dbt jobs
write to, the example project's model or seed of that name (the integration project's graph); the
generator checks that this is the node that builds the table whenever one is found.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa

from pipeline_costs import pricing
from pipeline_costs import project as p
from pipeline_costs.comment import sanitize_label
from pipeline_costs.table_storage import PHYSICAL_BILLING_DATASETS, PROJECT, StorageSnapshot, StoredTable

GiB = 1024**3
# dbt_pipeline_costs_bigquery_storage_prices' defaults: USD per GiB-month (a test checks they agree).
STORAGE_PRICES: dict[str, Decimal] = {
    "active_logical": Decimal("0.02"),
    "long_term_logical": Decimal("0.01"),
    "active_physical": Decimal("0.04"),
    "long_term_physical": Decimal("0.02"),
}
# Names a table may be matched to by name: the integration project's models and seeds.
GRAPH_NODES: dict[str, str] = {n.name: n.unique_id for n in p.NODES if n.resource_type in ("model", "seed")}

MONEY = pa.decimal128(38, 18)
TS = pa.timestamp("ms", tz="UTC")
BYTE_COLUMNS = (
    "total_logical_bytes", "active_logical_bytes", "long_term_logical_bytes", "current_physical_bytes",
    "total_physical_bytes", "active_physical_bytes", "long_term_physical_bytes", "time_travel_physical_bytes",
    "fail_safe_physical_bytes",
)
MONEY_COLUMNS = ("monthly_logical_cost", "monthly_physical_cost", "monthly_time_travel_fail_safe_cost", "monthly_cost")
_KEY = [("project_id", pa.string()), ("location", pa.string()), ("dataset_id", pa.string())]
_BYTES = [(c, pa.int64()) for c in BYTE_COLUMNS]
_MONEY = [(c, MONEY) for c in MONEY_COLUMNS]
# Column names and types of the two truth tables (the marts' contracts; written typed by Arrow).
TRUTH_COLUMNS: dict[str, list[tuple[str, pa.DataType]]] = {
    "storage_costs": [
        *_KEY, ("table_id", pa.string()), ("table_type", pa.string()), ("is_deleted", pa.bool_()),
        ("version_count", pa.int64()), ("created_at", TS), ("storage_last_modified_at", TS),
        ("node_id", pa.string()), ("node_matched_by", pa.string()), ("billing_model", pa.string()),
        ("total_rows", pa.int64()), *_BYTES, ("compression_ratio", pa.float64()), ("long_term_share", pa.float64()),
        ("time_travel_fail_safe_ratio", pa.float64()), *_MONEY, ("currency", pa.string()),
    ],
    "storage_dataset_costs": [
        *_KEY, ("billing_model", pa.string()), ("table_count", pa.int64()), ("deleted_table_count", pa.int64()),
        ("dbt_table_count", pa.int64()), *_BYTES, ("compression_ratio", pa.float64()), *_MONEY,
        ("cheaper_billing_model", pa.string()), ("monthly_saving", MONEY), ("currency", pa.string()),
    ],
}


def _units(value: Decimal | str | int) -> int:
    """A plain decimal as an integer of 10^-18 units (exact)."""
    scaled = Decimal(str(value)).scaleb(pricing.SCALE)
    assert scaled == scaled.to_integral_value(), f"more than 18 decimals: {value}"
    return int(scaled)


def scaled_prices(currency: str, prices: Mapping[str, Decimal | str] | None = None) -> dict[str, int]:
    """Each price per GiB-month in the output currency, in 10^-18 units, cut below 10^-18 (compile time)."""
    rate = pricing.CURRENCY_RATES[currency] * 10**pricing.SCALE
    assert rate.denominator == 1
    return {key: _units(price) * int(rate) // 10**pricing.SCALE for key, price in (prices or STORAGE_PRICES).items()}


def cost_units(byte_count: int, scaled_price: int) -> int:
    """byte_count x price / 2^30 in 10^-18 units, cut below 10^-18."""
    return byte_count * scaled_price // GiB


def is_physical(project_id: str, dataset_id: str, physical_datasets: Sequence[str] = PHYSICAL_BILLING_DATASETS) -> bool:
    return dataset_id in physical_datasets or f"{project_id}.{dataset_id}" in physical_datasets


def table_costs(row: Mapping[str, int], prices: Mapping[str, int]) -> dict[str, int]:
    """Monthly costs (10^-18 units) of one table's byte columns (logical ones: live versions only)."""
    return {
        "monthly_logical_cost": cost_units(row["active_logical_bytes"], prices["active_logical"])
        + cost_units(row["long_term_logical_bytes"], prices["long_term_logical"]),
        "monthly_physical_cost": cost_units(row["active_physical_bytes"] + row["fail_safe_physical_bytes"],
                                            prices["active_physical"])
        + cost_units(row["long_term_physical_bytes"], prices["long_term_physical"]),
        "monthly_time_travel_fail_safe_cost": cost_units(
            row["time_travel_physical_bytes"] + row["fail_safe_physical_bytes"], prices["active_physical"]),
    }


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _node(table: StoredTable, snapshot: StorageSnapshot) -> tuple[str | None, str]:
    if table.written_by is not None:
        return table.written_by, "job"
    if (table.location, table.dataset) in snapshot.dbt_datasets and table.table in GRAPH_NODES:
        return GRAPH_NODES[table.table], "name"
    return None, "none"


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def table_rows(snapshot: StorageSnapshot, currency: str, prices: Mapping[str, Decimal | str] | None = None,
               physical_datasets: Sequence[str] = PHYSICAL_BILLING_DATASETS) -> list[dict]:
    """storage_costs: one row per (location, dataset, table), every TABLE_STORAGE row (version) of it summed."""
    scaled = scaled_prices(currency, prices)
    versions: dict[tuple[str, str, str], list[StoredTable]] = defaultdict(list)
    for table in snapshot.tables:
        versions[table.key].append(table)
    rows = []
    for key, group in sorted(versions.items()):
        current = min(group, key=lambda t: (t.deleted, -t.created_ms))
        live = [t for t in group if not t.deleted]
        node_id, matched_by = _node(current, snapshot)
        sums = {
            "total_logical_bytes": sum(t.logical for t in live),
            "active_logical_bytes": sum(t.active_logical for t in live),
            "long_term_logical_bytes": sum(t.long_term_logical for t in live),
            "current_physical_bytes": sum(t.current_physical for t in group),
            "total_physical_bytes": sum(t.total_physical for t in group),
            "active_physical_bytes": sum(t.active_physical for t in group),
            "long_term_physical_bytes": sum(t.long_term_physical for t in group),
            "time_travel_physical_bytes": sum(t.time_travel for t in group),
            "fail_safe_physical_bytes": sum(t.fail_safe for t in group),
        }
        costs = table_costs(sums, scaled)
        model = "PHYSICAL" if is_physical(PROJECT, key[1], physical_datasets) else "LOGICAL"
        costs["monthly_cost"] = costs["monthly_physical_cost" if model == "PHYSICAL" else "monthly_logical_cost"]
        rows.append({
            "project_id": PROJECT, "location": key[0], "dataset_id": key[1], "table_id": key[2],
            "table_type": current.table_type, "is_deleted": not live, "version_count": len(group),
            "created_at": _ts(current.created_ms), "storage_last_modified_at": _ts(current.modified_ms),
            "node_id": node_id, "node_matched_by": matched_by, "billing_model": model, "total_rows": current.rows,
            **sums,
            "compression_ratio": _ratio(sums["total_logical_bytes"], sums["current_physical_bytes"]),
            "long_term_share": _ratio(sums["long_term_logical_bytes"], sums["total_logical_bytes"]),
            "time_travel_fail_safe_ratio": _ratio(
                sums["time_travel_physical_bytes"] + sums["fail_safe_physical_bytes"], sums["current_physical_bytes"]),
            **costs, "currency": currency,
        })
    return rows


def dataset_rows(tables: Iterable[dict]) -> list[dict]:
    """storage_dataset_costs from storage_costs rows: sums, the cheaper model and what switching saves."""
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for row in tables:
        groups[(row["project_id"], row["location"], row["dataset_id"])].append(row)
    rows = []
    for (project_id, location, dataset_id), group in sorted(groups.items()):
        sums = {c: sum(r[c] for r in group) for c in (*BYTE_COLUMNS, *MONEY_COLUMNS)}
        model = group[0]["billing_model"]
        logical, physical = sums["monthly_logical_cost"], sums["monthly_physical_cost"]
        cheaper = "PHYSICAL" if physical < logical else "LOGICAL" if logical < physical else model
        rows.append({
            "project_id": project_id, "location": location, "dataset_id": dataset_id, "billing_model": model,
            "table_count": len(group), "deleted_table_count": sum(r["is_deleted"] for r in group),
            "dbt_table_count": sum(r["node_id"] is not None for r in group), **sums,
            "compression_ratio": _ratio(sums["total_logical_bytes"], sums["current_physical_bytes"]),
            "cheaper_billing_model": cheaper,
            "monthly_saving": sums["monthly_cost"] - min(logical, physical),
            "currency": group[0]["currency"],
        })
    return rows


def _table(rows: list[dict], name: str) -> pa.Table:
    arrays = {}
    for column, kind in TRUTH_COLUMNS[name]:
        values = [row[column] for row in rows]
        if kind == MONEY:
            values = [pricing.units_to_decimal(v) for v in values]
        arrays[column] = pa.array(values, kind)
    return pa.table(arrays)


def compute(snapshot: StorageSnapshot, currency: str) -> dict[str, pa.Table]:
    tables = table_rows(snapshot, currency)
    builders = {t.key: t.builder for t in snapshot.tables}
    for row in tables:
        builder = builders[(row["location"], row["dataset_id"], row["table_id"])]
        # a node id read from a label is the builder's, sanitised (lossy)
        allowed = {None} if builder is None else {None, builder, sanitize_label(builder)}
        assert row["node_id"] in allowed, (
            f"storage: {row['dataset_id']}.{row['table_id']} matched to {row['node_id']}, built by {builder}")
    return {
        "storage_costs": _table(tables, "storage_costs"),
        "storage_dataset_costs": _table(dataset_rows(tables), "storage_dataset_costs"),
    }
