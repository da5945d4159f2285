"""Throw-away dbt projects that use the package as `local:` on DuckDB: N trivial models plus the
package's upload tables. Shared by the upload tests and the upload benchmark."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import yaml

# A materialization that runs `select 1` and creates nothing: dbt's per-node work stays small.
SELECT_ONE = """\
{% materialization select_one, default %}
    {% call statement('main') %}select 1 as one{% endcall %}
    {{ return({'relations': []}) }}
{% endmaterialization %}
"""


def write_profiles(root: Path, project: str, *, db_env_var: str, schema: str) -> None:
    """profiles.yml with one DuckDB target whose file path comes from an environment variable."""
    (root / "profiles.yml").write_text(textwrap.dedent(f"""\
        {project}:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{{{{ env_var('{db_env_var}') }}}}"
              schema: {schema}
              threads: 4
        """))


def write_bulk_project(root: Path, *, package: Path, project: str, models: int, on_run_end: list[str],
                       db_env_var: str, schema: str = "analytics", materialized: str = "select_one") -> None:
    """A fresh project (root is replaced) of `models` trivial models under models/gen, the package's
    run_results models enabled and its other models disabled, and the given on-run-end hooks."""
    if root.exists():
        shutil.rmtree(root)
    (root / "models" / "gen").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "packages.yml").write_text(f"packages:\n  - local: {package}\n")
    config = {
        "name": project, "version": "1.0.0", "config-version": 2, "profile": project,
        "on-run-end": on_run_end,
        "models": {"dbt_pipeline_costs": {"+enabled": False, "run_results": {"+enabled": True}},
                   project: {"gen": {"+materialized": materialized}}},
    }
    (root / "dbt_project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    write_profiles(root, project, db_env_var=db_env_var, schema=schema)
    (root / "macros" / "select_one.sql").write_text(SELECT_ONE)
    for i in range(models):
        (root / "models" / "gen" / f"m_{i:05d}.sql").write_text(f"select {i} as id\n")
