"""The simulated Databricks account: workspaces, SQL warehouses, clusters, jobs, SKUs and list prices."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ACCOUNT_ID = "7d3f6a2e-1b4c-4e8a-9f05-2c6b8d1e4a90"
CLOUD = "AWS"
USAGE_UNIT = "DBU"
PROD_WORKSPACE = "1029384756473829"
ANALYTICS_WORKSPACE = "5647382910564738"
CATALOG = "main"

SKU_SERVERLESS_SQL = "PREMIUM_SERVERLESS_SQL_COMPUTE_US_EAST_N_VIRGINIA"
SKU_SQL_PRO = "PREMIUM_SQL_PRO_COMPUTE_US_EAST_N_VIRGINIA"
SKU_SQL_CLASSIC = "PREMIUM_SQL_COMPUTE_US_EAST_N_VIRGINIA"
SKU_JOBS_SERVERLESS = "PREMIUM_JOBS_SERVERLESS_COMPUTE_US_EAST_N_VIRGINIA"
SKU_JOBS = "PREMIUM_JOBS_COMPUTE_US_EAST_N_VIRGINIA"
SKU_DLT = "PREMIUM_DLT_ADVANCED_COMPUTE_US_EAST_N_VIRGINIA"
SKU_ALL_PURPOSE = "PREMIUM_ALL_PURPOSE_COMPUTE_US_EAST_N_VIRGINIA"
SKU_SERVERLESS_NOTEBOOKS = "PREMIUM_ALL_PURPOSE_SERVERLESS_COMPUTE_US_EAST_N_VIRGINIA"
SKU_MODEL_SERVING = "PREMIUM_SERVERLESS_REAL_TIME_INFERENCE_US_EAST_N_VIRGINIA"  # no list price: unpriced


@dataclass(frozen=True)
class Warehouse:
    workspace_id: str
    warehouse_id: str
    name: str
    sku_name: str
    dbu_per_hour: Decimal
    sql_tier: str
    is_serverless: bool
    always_on: tuple[int, int] | None = None  # UTC hours [from, to) it is kept running every day
    auto_stop_ms: int = 10 * 60_000


ETL_WAREHOUSE = Warehouse(PROD_WORKSPACE, "4f2a9c1e7b3d5a60", "etl", SKU_SERVERLESS_SQL, Decimal(24), "PRO", True)
BI_WAREHOUSE = Warehouse(PROD_WORKSPACE, "9b8c7d6e5f4a3b21", "bi", SKU_SQL_PRO, Decimal(12), "PRO", False,
                         always_on=(13, 23))
ADHOC_WAREHOUSE = Warehouse(ANALYTICS_WORKSPACE, "1a2b3c4d5e6f7081", "adhoc", SKU_SQL_CLASSIC, Decimal(6),
                            "CLASSIC", False)
WAREHOUSES: tuple[Warehouse, ...] = (ETL_WAREHOUSE, BI_WAREHOUSE, ADHOC_WAREHOUSE)

INTERACTIVE_CLUSTER = "0923-164208-meows279"  # analytics workspace, all-purpose, 09:00-18:00 UTC
INTERACTIVE_DBU_PER_HOUR = Decimal(8)
DLT_PIPELINE = "b4c1e2d3-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
NOTEBOOK_ID = "4082746159230817"
NOTEBOOK_PATH = "/Users/dana@acme.com/churn_analysis"
SERVING_ENDPOINT = ("churn-scorer", "e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0")


@dataclass(frozen=True)
class DatabricksJob:
    job_id: str
    name: str
    sku_name: str
    dbu_per_hour: Decimal
    is_serverless: bool


LAKEHOUSE_HOURLY = DatabricksJob("482913", "lakehouse_hourly", SKU_JOBS_SERVERLESS, Decimal(6), True)
LAKEHOUSE_NIGHTLY = DatabricksJob("482914", "lakehouse_nightly", SKU_JOBS_SERVERLESS, Decimal(6), True)
INGEST_EVENTS = DatabricksJob("377120", "ingest_events", SKU_JOBS, Decimal(10), False)

JOBS_SERVICE_PRINCIPAL = "a8f6c2d0-3b1e-4f7a-9d2c-6e5b4a3f2d10"
AIRFLOW_SERVICE_PRINCIPAL = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
TABLEAU_SERVICE_PRINCIPAL = "f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f"
ML_SERVICE_PRINCIPAL = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"


@dataclass(frozen=True)
class ListPrice:
    """One row of system.billing.list_prices (USD per DBU); end None = the current price."""

    sku_name: str
    start_ms: int
    end_ms: int | None
    default: Decimal
    effective: Decimal | None  # pricing.effective_list.default (None: only pricing.default is set)
    promotional: Decimal | None = None
    cloud: str = CLOUD
    currency_code: str = "USD"
    usage_unit: str = USAGE_UNIT


PRICES_SINCE_MS = 1_735_689_600_000  # 2025-01-01 00:00 UTC
SERVERLESS_SQL_OLD_PRICE = Decimal("0.70")
SERVERLESS_SQL_NEW_PRICE = Decimal("0.72")


def list_prices(price_change_ms: int) -> list[ListPrice]:
    """Every SKU's list price but model serving's; the serverless SQL price changes at price_change_ms."""
    def steady(sku: str, price: str, effective: str | None = None, promotional: str | None = None) -> ListPrice:
        return ListPrice(sku, PRICES_SINCE_MS, None, Decimal(price), Decimal(effective or price),
                         None if promotional is None else Decimal(promotional))

    return [
        ListPrice(SKU_SERVERLESS_SQL, PRICES_SINCE_MS, price_change_ms, SERVERLESS_SQL_OLD_PRICE,
                  SERVERLESS_SQL_OLD_PRICE),
        ListPrice(SKU_SERVERLESS_SQL, price_change_ms, None, SERVERLESS_SQL_NEW_PRICE, SERVERLESS_SQL_NEW_PRICE),
        steady(SKU_SQL_PRO, "0.55"),
        # the same SKU name on another cloud: never the price of an AWS record
        ListPrice(SKU_SQL_PRO, PRICES_SINCE_MS, None, Decimal("0.66"), Decimal("0.66"), cloud="AZURE"),
        steady(SKU_SQL_CLASSIC, "0.22"),
        steady(SKU_JOBS_SERVERLESS, "0.45", effective="0.35", promotional="0.35"),  # a promotion
        steady(SKU_JOBS, "0.15"),
        # effective_list not set: the list price is pricing.default
        ListPrice(SKU_DLT, PRICES_SINCE_MS, None, Decimal("0.36"), None),
        steady(SKU_ALL_PURPOSE, "0.55"),
        steady(SKU_SERVERLESS_NOTEBOOKS, "0.95"),
    ]
