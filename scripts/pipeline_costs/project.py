"""The simulated dbt project.

Its nodes also exist as files in the integration test project (`integration_tests/models|seeds|
tests/example_project`), so the package sees them in dbt's graph with the same folder and tags.
`write_integration_files` (re)creates those files; a test checks they are up to date.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PROJECT_NAME = "dbt_pipeline_costs_integration_tests"

GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class Node:
    name: str
    resource_type: str  # model | seed | test
    directory: str  # directory of original_file_path, e.g. models/example_project/staging
    tags: tuple[str, ...] = ()
    # model materialization: view | table | merge | insert_overwrite; seeds load; tests select
    materialization: str = "table"
    scanned_bytes: int = 0  # median bytes a build of this node reads
    upstream: tuple[str, ...] = ()  # names of the nodes / sources it reads

    @property
    def unique_id(self) -> str:
        return f"{self.resource_type}.{PROJECT_NAME}.{self.name}"

    @property
    def folder(self) -> str:
        return self.directory

    @property
    def original_file_path(self) -> str:
        suffix = ".csv" if self.resource_type == "seed" else ".sql"
        return f"{self.directory}/{self.name}{suffix}"


_STG = "models/example_project/staging"
_INT = "models/example_project/intermediate"
_FIN = "models/example_project/marts/finance"
_MKT = "models/example_project/marts/marketing"
_SEEDS = "seeds/example_project"
_TESTS = "tests/example_project"

LONG_MODEL_NAME = "int_customer_lifetime_value_by_acquisition_channel_and_cohort_month"

NODES: tuple[Node, ...] = (
    Node("country_codes", "seed", _SEEDS, materialization="seed"),
    Node("currency_codes", "seed", _SEEDS, materialization="seed"),
    Node("channel_mapping", "seed", _SEEDS, materialization="seed"),
    Node("stg_orders", "model", _STG, ("finance", "staging"), "view", 0, ("raw.orders",)),
    Node("stg_customers", "model", _STG, ("staging",), "view", 0, ("raw.customers",)),
    Node("stg_payments", "model", _STG, ("finance", "staging"), "view", 0, ("raw.payments",)),
    Node("stg_sessions", "model", _STG, ("marketing", "staging"), "view", 0, ("raw.sessions",)),
    Node("stg_ad_spend", "model", _STG, (), "view", 0, ("raw.ad_spend",)),
    Node(
        "int_orders_enriched", "model", _INT, ("finance",), "table", 40 * GiB,
        ("stg_orders", "stg_customers", "stg_payments"),
    ),
    Node(LONG_MODEL_NAME, "model", _INT, (), "table", 25 * GiB, ("int_orders_enriched", "channel_mapping")),
    Node(
        "int_sessions_attributed", "model", _INT, ("marketing",), "table", 60 * GiB,
        ("stg_sessions", "channel_mapping"),
    ),
    Node("fct_orders", "model", _FIN, ("daily", "finance"), "insert_overwrite", 15 * GiB, ("int_orders_enriched",)),
    Node("fct_revenue", "model", _FIN, ("finance",), "table", 8 * GiB, ("fct_orders", "currency_codes")),
    Node("fct_payments", "model", _FIN, ("finance",), "insert_overwrite", 12 * GiB, ("stg_payments",)),
    Node("dim_customers", "model", _FIN, ("finance", "pii"), "table", 3 * GiB, ("stg_customers", "country_codes")),
    Node(
        "fct_campaign_performance", "model", _MKT, ("marketing",), "merge", 20 * GiB,
        ("int_sessions_attributed", "stg_ad_spend"),
    ),
    Node("fct_attribution", "model", _MKT, ("marketing",), "table", 400 * GiB, ("int_sessions_attributed",)),
    Node("dim_channels", "model", _MKT, (), "table", 50 * MiB, ("channel_mapping",)),
    Node("assert_orders_have_customers", "test", _TESTS, materialization="test", upstream=("fct_orders",)),
    Node("assert_revenue_non_negative", "test", _TESTS, materialization="test", upstream=("fct_revenue",)),
    Node("assert_payments_unique", "test", _TESTS, materialization="test", upstream=("fct_payments",)),
    Node("assert_sessions_have_channel", "test", _TESTS, materialization="test", upstream=("int_sessions_attributed",)),
)

NODES_BY_NAME: dict[str, Node] = {node.name: node for node in NODES}
NODES_BY_ID: dict[str, Node] = {node.unique_id: node for node in NODES}
MODELS: tuple[Node, ...] = tuple(n for n in NODES if n.resource_type == "model")
SEEDS: tuple[Node, ...] = tuple(n for n in NODES if n.resource_type == "seed")
TESTS: tuple[Node, ...] = tuple(n for n in NODES if n.resource_type == "test")


def nodes(*names: str) -> tuple[Node, ...]:
    return tuple(NODES_BY_NAME[name] for name in names)


def stage_of(node_id: str | None) -> str:
    """Stage by folder (the package default): directory of the node's original_file_path."""
    if node_id is None:
        return "(no node)"
    node = NODES_BY_ID.get(node_id)
    return node.folder if node is not None else "(unknown node)"


# ---------------------------------------------------------------------------------------------
# Files in the integration test project
# ---------------------------------------------------------------------------------------------

SEED_ROWS: dict[str, str] = {
    "country_codes": "code,name\nUS,United States\nFR,France\n",
    "currency_codes": "code,name\nUSD,US dollar\nEUR,Euro\n",
    "channel_mapping": "source,channel\ngoogle,paid_search\nnewsletter,email\n",
}


def integration_files() -> dict[str, str]:
    """Relative path (under integration_tests/) -> content, for every node of the project."""
    files: dict[str, str] = {}
    for node in NODES:
        path = str(PurePosixPath(node.original_file_path))
        if node.resource_type == "model":
            tags = ", ".join(f"'{tag}'" for tag in node.tags)
            files[path] = f"{{{{ config(tags=[{tags}]) }}}}\nselect 1 as id\n"
        elif node.resource_type == "seed":
            files[path] = SEED_ROWS[node.name]
        else:
            files[path] = "-- singular test: returns no rows\nselect 1 as id where false\n"
    return files


def write_integration_files(integration_dir: Path) -> list[Path]:
    written = []
    for rel, content in integration_files().items():
        path = integration_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
        written.append(path)
    return written
