"""The docs stay true: every var in the README table, every model, column and public macro documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from support import MARTS_SCHEMA, PROJECT_DIR, REPO, generate, rows, run_dbt

# ephemeral models (no table to compare with): documented by description, their columns by the model they feed
EPHEMERAL = {"int_bigquery_jobs_priced", "int_databricks_statements_priced", "int_databricks_statements",
             "int_databricks_usage_priced", "int_cost_forecast_sql"}
# models documented as "columns as in <models>": they inherit those models' column docs
INHERITS = {
    "stg_dbt__invocations": ["dbt_invocations"],
    "stg_dbt__node_results": ["dbt_node_results"],
    "int_dbt_node_results": ["stg_dbt__node_results", "dbt_node_results"],
    "stg_databricks__query_history": ["query_costs"],
}


@pytest.fixture(scope="module")
def manifest_and_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    db = tmp_path_factory.mktemp("docs") / "docs.duckdb"
    generate(db, "--days", "2", "--no-truth")
    run_dbt(["run", "--select", "package:dbt_pipeline_costs", "--full-refresh"], db)
    manifest = json.loads((PROJECT_DIR / "target" / "manifest.json").read_text())
    return manifest, db


def test_every_var_is_in_the_readme_table() -> None:
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    readme = (REPO / "README.md").read_text()
    missing = [name for name in project["vars"] if f"| `{name}` |" not in readme]
    assert not missing, f"vars missing from the README table: {missing}"


def test_every_model_and_column_is_documented(manifest_and_db: tuple[dict, Path]) -> None:
    manifest, db = manifest_and_db
    models = [n for n in manifest["nodes"].values()
              if n["resource_type"] == "model" and n["package_name"] == "dbt_pipeline_costs"]
    assert len(models) >= 9
    by_name = {n["name"]: n for n in models}
    problems = []
    for node in models:
        if not node["description"].strip():
            problems.append(f"{node['name']}: no description")
        if node["name"] in EPHEMERAL:
            continue
        built = {r["column_name"] for r in rows(db, f"""
            select column_name from information_schema.columns
            where table_schema = '{MARTS_SCHEMA}' and table_name = '{node['name']}'""")}
        own = set(node["columns"])
        inherited = set().union(*(by_name[parent]["columns"] for parent in INHERITS.get(node["name"], [])))
        undocumented = built - own - inherited
        absent = own - built  # an inherited column may be left out (a narrower model); its own may not
        if undocumented or absent:
            problems.append(f"{node['name']}: undocumented {sorted(undocumented)}, documented but absent {sorted(absent)}")
        problems += [f"{node['name']}.{c}: no description" for c, v in node["columns"].items()
                     if not v["description"].strip()]
    assert not problems, "\n".join(problems)


def test_every_public_macro_is_documented(manifest_and_db: tuple[dict, Path]) -> None:
    manifest, _ = manifest_and_db
    macros = [m for m in manifest["macros"].values() if m["package_name"] == "dbt_pipeline_costs"]
    public = [m for m in macros if not re.match(r"^(_|[a-z]+__)", m["name"])]
    undocumented = sorted(m["name"] for m in public if not m["description"].strip())
    assert not undocumented, f"macros without docs in macros/_macros.yml: {undocumented}"
