"""sqlfluff lints the package's own SQL clean (settings: .sqlfluff / .sqlfluffignore at the root).

Runs `sqlfluff lint models analyses` from the repo root: the dbt templater renders every model
as part of the package's own dbt project on the DuckDB target of integration_tests/profiles.yml.
The DuckDB file, dbt's target/ and logs/ go to a temporary directory so that concurrent runs
(and a DuckDB build of integration_tests) do not share them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LINTED = ("models", "analyses")
TIMEOUT_S = 300


def _sql_files() -> list[str]:
    return sorted(
        p.relative_to(REPO).as_posix() for folder in LINTED for p in (REPO / folder).rglob("*.sql")
    )


def test_sqlfluff_config_is_in_place():
    config = (REPO / ".sqlfluff").read_text()
    assert "templater = dbt" in config
    assert "profiles_dir = integration_tests" in config
    assert (REPO / ".sqlfluffignore").is_file()


def test_package_sql_lints_clean(tmp_path):
    files = _sql_files()
    if not files:
        pytest.skip(f"no .sql file under {', '.join(LINTED)} yet: nothing to lint")
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_DUCKDB_PATH": str(tmp_path / "lint.duckdb"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    folders = [folder for folder in LINTED if (REPO / folder).is_dir()]
    command = [str(BIN / "sqlfluff"), "lint", *folders, "--format", "json", "--nocolor"]
    try:
        result = subprocess.run(
            command,
            check=False,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"sqlfluff lint did not finish in {TIMEOUT_S}s", pytrace=False)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"sqlfluff lint exited {result.returncode} without a report:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}",
            pytrace=False,
        )

    # Every file must have been linted: a file the templater skipped would pass silently.
    linted = {Path(entry["filepath"]).as_posix().removeprefix("./") for entry in report}
    missing = sorted(set(files) - linted)
    assert not missing, f"sqlfluff did not lint {missing}:\n{result.stderr[-4000:]}"

    problems = [
        f"{entry['filepath']}:{v.get('start_line_no')}:{v.get('start_line_pos')} "
        f"{v['code']} {v['description']}"
        for entry in report
        for v in entry["violations"]
    ]
    if problems or result.returncode != 0:
        pytest.fail(
            f"`sqlfluff lint {' '.join(folders)}` exited {result.returncode} "
            f"(rules: .sqlfluff):\n  " + "\n  ".join(problems or [result.stderr[-4000:]]),
            pytrace=False,
        )
