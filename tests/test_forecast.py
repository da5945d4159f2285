"""daily_spend, cost_forecast and cost_forecast_summary (docs/cost-rules.md section 12).

1. Synthetic series with a known truth (scripts/pipeline_costs/synthetic_series.py; the seed
   integration_tests/seeds/forecast_cases/forecast_synthetic_series.csv), forecast through the var
   dbt_pipeline_costs_forecast_input by both engines on DuckDB: each recovers the trend, the weekday
   effects and the level within the tolerances of cost-rules 12, its prediction intervals cover the
   held-out days about as often as they say, month-to-date is the sum of the actual days, the budget
   crossing day is the one the truth and the model's own predictions give; short and dormant series
   get a summary row and no forecast; the horizon and interval vars are respected; the SQL engine is
   an ordinary least squares fit (checked against numpy's lstsq on the same days).
2. The shared integration build (generated logs, SQL engine): daily_spend equals the ground truth
   (scripts/pipeline_costs/forecast_truth.py), the main pipelines and the total are forecast, the SQL
   engine equals numpy's least squares, and the planted weekend dip shows.
3. The SQL engine on a local Spark session gives the DuckDB results (slow; needs Java).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pipeline_costs import synthetic_series as ss
from scipy.stats import norm
from support import MARTS_SCHEMA, REPO, integration_build, rows, run_dbt, subprocess_env

SEED = "forecast_synthetic_series"
HORIZON = 30  # dbt_pipeline_costs_forecast_horizon_days
TRAINING = 90  # dbt_pipeline_costs_forecast_training_days
MIN_HISTORY = 14  # dbt_pipeline_costs_forecast_min_history_days
MONTH_START = ss.ORIGIN.replace(day=1)
MONTH_END = dt.date(2026, 3, 31)
CROSS_T = 13  # budget_exact's budget is crossed on ORIGIN + 13 days
ALREADY_CROSSED = ss.day(-7)  # steady_growth's budget was crossed on this actual day
FLOAT_RELATIVE = 1e-9
MONEY_ABSOLUTE = Decimal("1e-9")
# Databricks money is shared out in floats (test_integration_bigquery: the cent's half per run)
ALLOCATED_TOLERANCE = Decimal("0.005")


# -------------------------------------------------------------------------------------------
# The truth of the synthetic series, and the budgets built on it
# -------------------------------------------------------------------------------------------
def _history(series_id: str) -> dict[dt.date, Decimal]:
    return {ss.day(t): Decimal(f"{v:.{ss.DECIMALS}f}") for t, v in ss.history(ss.case(series_id)).items()}


def _month_to_date(series_id: str) -> Decimal:
    return sum((v for d, v in _history(series_id).items() if d >= MONTH_START), Decimal(0))


def _budgets() -> dict[str, Decimal]:
    """budget_exact: halfway through day CROSS_T's expected spend; steady_growth: halfway through the
    actual spend of ALREADY_CROSSED; total: this month's actual + half the expected rest of the month."""
    exact = ss.case("budget_exact")
    before = _month_to_date("budget_exact") + Decimal(sum(ss.mean(exact, t) for t in range(1, CROSS_T)))
    history = _history("steady_growth")
    upto = sum((v for d, v in history.items() if MONTH_START <= d < ALREADY_CROSSED), Decimal(0))
    total_rest = sum(ss.mean(ss.case("total"), t) for t in range(1, (MONTH_END - ss.ORIGIN).days + 1))
    return {
        "budget_exact": before + Decimal(ss.mean(exact, CROSS_T) / 2),
        "steady_growth": upto + history[ALREADY_CROSSED] / 2,
        "total": _month_to_date("total") + Decimal(total_rest / 2),
        "noisy": Decimal(10**7),
        "short_history": Decimal(10**7),
    }


def _budget_vars() -> dict[str, Any]:
    budgets = {k: f"{v:.6f}" for k, v in _budgets().items()}
    return {
        "dbt_pipeline_costs_monthly_budget": budgets.pop("total"),
        "dbt_pipeline_costs_pipeline_budgets": budgets,
    }


BASE_VARS: dict[str, Any] = {"dbt_pipeline_costs_forecast_input": SEED, **_budget_vars()}
BUILDS: dict[str, dict[str, Any]] = {
    "sql": {},
    "python": {"dbt_pipeline_costs_forecast_engine": "python"},
    "sql_h10_i95": {"dbt_pipeline_costs_forecast_horizon_days": 10, "dbt_pipeline_costs_forecast_interval_pct": 95},
}


def _tolerances(case: ss.Case, n: int) -> dict[str, float]:
    """cost-rules 12: about 4 standard errors of least squares on n days (and 10 % of the trend)."""
    sd = case.noise_sd
    return {
        "trend": max(0.1 * abs(case.trend_per_day), 4 * sd * math.sqrt(12 / (n**3 - n))),
        "weekday": 4 * sd * math.sqrt(7 / n),
        "level": 8 * sd / math.sqrt(n),
    }


def _report(config: pytest.Config, line: str) -> None:
    """A line shown in every run (not only with -s), like the Spark tier's timings."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> dict[str, Path]:
    """The seed and the forecast built three times: SQL engine, Python engine, SQL with horizon 10 at 95 %."""
    base = tmp_path_factory.mktemp("forecast")

    def build(name: str) -> str:
        target = base / f"target_{name}"
        started = time.perf_counter()
        run_dbt(["build", "--select", f"{SEED}+", "--vars", json.dumps({**BASE_VARS, **BUILDS[name]}),
                 "--target-path", str(target), "--log-path", str(base / f"logs_{name}")], base / f"{name}.duckdb")
        results = json.loads((target / "run_results.json").read_text())["results"]
        models = {r["unique_id"].rsplit(".", 1)[1]: r["execution_time"] for r in results
                  if r["unique_id"].startswith("model.")}
        return (f"{name}: build {time.perf_counter() - started:.1f} s ("
                + ", ".join(f"{m} {s:.2f} s" for m, s in sorted(models.items())) + ")")

    with ThreadPoolExecutor(max_workers=len(BUILDS)) as pool:  # three dbt processes side by side
        timings = list(pool.map(build, BUILDS))
    _report(pytestconfig, "\nforecast on the synthetic series: " + "; ".join(timings))
    return {name: base / f"{name}.duckdb" for name in BUILDS}


def _summary(db: Path) -> dict[str, dict[str, Any]]:
    return {r["series_id"]: r for r in rows(db, f"select * from {MARTS_SCHEMA}.cost_forecast_summary")}


def _forecast(db: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows(db, f"select * from {MARTS_SCHEMA}.cost_forecast order by series_id, forecast_date"):
        out[r["series_id"]].append(r)
    return out


def test_seed_is_what_the_generator_writes() -> None:
    assert ss.SEED_PATH.read_text() == ss.seed_csv(), (
        "integration_tests/seeds/forecast_cases/forecast_synthetic_series.csv is stale: "
        "PYTHONPATH=scripts python -m pipeline_costs.synthetic_series"
    )


# -------------------------------------------------------------------------------------------
# Both engines recover the truth
# -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["sql", "python"])
def test_engine_recovers_trend_weekday_effects_and_level(synthetic: dict[str, Path], engine: str) -> None:
    summary, forecast = _summary(synthetic[engine]), _forecast(synthetic[engine])
    problems = []
    for series_id in ss.RECOVERY_CASES:
        case, fit = ss.case(series_id), summary[series_id]
        assert fit["status"] == "forecast" and fit["engine"] == engine, fit
        n = fit["training_days"]
        assert n == min(TRAINING, case.history_days - 1)
        tolerance = _tolerances(case, n)
        effects = {r["forecast_date"].weekday(): r["seasonal_effect"] for r in forecast[series_id][:7]}
        errors = {
            "trend": abs(fit["trend_per_day"] - case.trend_per_day),
            "weekday": max(abs(effects[w] - case.weekday_effects[w]) for w in range(7)),
            "level": abs(fit["level_at_origin"] - case.level),
        }
        problems += [f"{series_id} {k}: error {errors[k]:.4g} > tolerance {tolerance[k]:.4g}"
                     for k in errors if errors[k] > tolerance[k]]
        if not 0.75 <= fit["residual_sd"] / case.noise_sd <= 1.25:
            problems.append(f"{series_id}: residual sd {fit['residual_sd']:.4g}, noise sd {case.noise_sd}")
        # the parts add up to the prediction
        for r in forecast[series_id]:
            parts = fit["level_at_origin"] + fit["trend_per_day"] * r["horizon_day"] + r["seasonal_effect"]
            assert math.isclose(float(r["predicted_cost"]), parts, rel_tol=1e-6), (series_id, r)
    assert not problems, "\n".join(problems)
    expected_method = "holt_winters" if engine == "python" else "ols_weekday"
    assert {summary[s]["method"] for s in ss.RECOVERY_CASES} == {expected_method}


@pytest.mark.parametrize("engine", ["sql", "python"])
def test_prediction_intervals_cover_the_held_out_days(synthetic: dict[str, Path], engine: str) -> None:
    """80 % intervals: the share of held-out days inside them, pooled over the noisy series, is within
    65-95 %; every interval holds its prediction; the month-end interval holds the true month-end spend
    for at least half of the series."""
    forecast, summary = _forecast(synthetic[engine]), _summary(synthetic[engine])
    inside = total = month_end_inside = 0
    for series_id in ss.COVERAGE_CASES:
        future = ss.future(ss.case(series_id))
        days = forecast[series_id]
        assert len(days) == HORIZON
        for r in days:
            assert r["lower_cost"] <= r["predicted_cost"] <= r["upper_cost"], r
            inside += r["lower_cost"] <= Decimal(str(future[r["horizon_day"]])) <= r["upper_cost"]
            total += 1
        fit = summary[series_id]
        actual = _month_to_date(series_id) + sum(
            (Decimal(str(v)) for t, v in future.items() if ss.day(t) <= MONTH_END), Decimal(0))
        assert fit["projected_month_end_lower_cost"] <= fit["projected_month_end_cost"] <= fit["projected_month_end_upper_cost"]
        month_end_inside += fit["projected_month_end_lower_cost"] <= actual <= fit["projected_month_end_upper_cost"]
    share = inside / total
    assert 0.65 <= share <= 0.95, f"{engine}: {inside} of {total} held-out days ({share:.1%}) inside the 80 % intervals"
    assert month_end_inside * 2 >= len(ss.COVERAGE_CASES), (
        f"{engine}: the month-end interval held the true month-end spend for {month_end_inside} of "
        f"{len(ss.COVERAGE_CASES)} series")


def test_python_engine_falls_back_to_the_sql_method_on_short_training(synthetic: dict[str, Path]) -> None:
    """'young' has 20 training days (< 28): the Python engine fits it as the SQL engine does, with the same result."""
    python, sql = _forecast(synthetic["python"])["young"], _forecast(synthetic["sql"])["young"]
    assert {r["method"] for r in python} == {"ols_weekday"}
    assert len(python) == len(sql) == HORIZON
    for p, s in zip(python, sql, strict=True):
        for column in ("predicted_cost", "lower_cost", "upper_cost", "seasonal_effect"):
            assert math.isclose(float(p[column]), float(s[column]), rel_tol=FLOAT_RELATIVE, abs_tol=1e-9), (column, p, s)


# -------------------------------------------------------------------------------------------
# Month-to-date, month-end, budgets
# -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["sql", "python"])
def test_month_to_date_and_month_end(synthetic: dict[str, Path], engine: str) -> None:
    summary, forecast = _summary(synthetic[engine]), _forecast(synthetic[engine])
    assert set(summary) == {c.series_id for c in ss.CASES}
    for series_id, fit in summary.items():
        assert fit["origin_date"] == ss.ORIGIN
        assert (fit["month_start_date"], fit["month_end_date"]) == (MONTH_START, MONTH_END)
        assert fit["month_to_date_cost"] == _month_to_date(series_id), series_id
        if fit["status"] != "forecast":
            assert fit["projected_month_end_cost"] is None and not forecast.get(series_id), series_id
            continue
        rest = sum((r["predicted_cost"] for r in forecast[series_id] if r["forecast_date"] <= MONTH_END), Decimal(0))
        assert abs(fit["projected_month_end_cost"] - fit["month_to_date_cost"] - rest) <= MONEY_ABSOLUTE, series_id
        horizon = sum((r["predicted_cost"] for r in forecast[series_id]), Decimal(0))
        assert abs(fit["forecast_horizon_cost"] - horizon) <= MONEY_ABSOLUTE, series_id
        assert fit["forecast_horizon_lower_cost"] <= fit["forecast_horizon_cost"] <= fit["forecast_horizon_upper_cost"]


def _recomputed_crossing(db: Path, series_id: str, budget: Decimal) -> dt.date | None:
    """The first day the calendar month's spend (actual days of this month, then the model's own
    predictions over the horizon) exceeds the budget."""
    days = [(d, v) for d, v in sorted(_history(series_id).items()) if d >= MONTH_START]
    days += [(r["forecast_date"], r["predicted_cost"]) for r in _forecast(db)[series_id]]
    running: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for day, cost in days:
        running[(day.year, day.month)] += cost
        if running[(day.year, day.month)] > budget:
            return day
    return None


@pytest.mark.parametrize("engine", ["sql", "python"])
def test_budget_crossing_day(synthetic: dict[str, Path], engine: str) -> None:
    summary, budgets = _summary(synthetic[engine]), _budgets()
    assert summary["budget_exact"]["budget_crossed_on"] == ss.day(CROSS_T)
    assert summary["budget_exact"]["budget_status"] == "projected_to_cross"
    assert summary["steady_growth"]["budget_crossed_on"] == ALREADY_CROSSED
    assert summary["steady_growth"]["budget_status"] == "crossed"
    assert (summary["noisy"]["budget_crossed_on"], summary["noisy"]["budget_status"]) == (None, "within_budget")
    assert summary["short_history"]["budget_status"] == "not_forecast"
    assert summary["declining"]["budget_status"] == "no_budget" and summary["declining"]["monthly_budget"] is None
    for series_id, budget in budgets.items():
        assert abs(summary[series_id]["monthly_budget"] - Decimal(f"{budget:.6f}")) == 0
        assert summary[series_id]["budget_crossed_on"] == _recomputed_crossing(
            synthetic[engine], series_id, summary[series_id]["monthly_budget"]), series_id
    crossed = summary["total"]["budget_crossed_on"]
    assert crossed is not None and ss.ORIGIN < crossed <= MONTH_END, "the total's budget should fall mid-month"


# -------------------------------------------------------------------------------------------
# Rules around the forecast
# -------------------------------------------------------------------------------------------
def test_short_and_dormant_series_get_a_reason_not_a_forecast(synthetic: dict[str, Path]) -> None:
    summary, forecast = _summary(synthetic["sql"]), _forecast(synthetic["sql"])
    short, retired = summary["short_history"], summary["retired"]
    assert (short["status"], short["history_days"]) == ("insufficient_history", ss.case("short_history").history_days - 1)
    assert (retired["status"], retired["history_days"]) == ("no_recent_spend", ss.case("retired").history_days - 1)
    for fit in (short, retired):
        assert fit["series_id"] not in forecast
        assert fit["method"] is None and fit["trend_per_day"] is None and fit["projected_month_end_cost"] is None
    assert summary["young"]["status"] == "forecast" and summary["young"]["training_days"] == 20


def test_horizon_and_interval_vars(synthetic: dict[str, Path]) -> None:
    """Horizon 10 at 95 %: 10 days per series; the same predictions and month-end projection (the
    month's rest is forecast whatever the horizon); intervals wider by z(97.5 %) / z(90 %)."""
    short, full = _forecast(synthetic["sql_h10_i95"]), _forecast(synthetic["sql"])
    assert set(short) == set(full)
    ratio = norm.ppf(0.975) / norm.ppf(0.9)
    for series_id, days in short.items():
        assert [r["horizon_day"] for r in days] == list(range(1, 11)), series_id
        for narrow, wide in zip(full[series_id][:10], days, strict=True):
            assert narrow["predicted_cost"] == wide["predicted_cost"] and wide["interval_pct"] == 95
            if narrow["lower_cost"] > 0 and wide["lower_cost"] > 0:
                got = float(wide["upper_cost"] - wide["lower_cost"]) / float(narrow["upper_cost"] - narrow["lower_cost"])
                assert math.isclose(got, ratio, rel_tol=1e-7), (series_id, got, ratio)
    summary_short, summary_full = _summary(synthetic["sql_h10_i95"]), _summary(synthetic["sql"])
    for series_id, fit in summary_short.items():
        assert fit["horizon_days"] == 10
        assert fit["projected_month_end_cost"] == summary_full[series_id]["projected_month_end_cost"], series_id


def test_bad_vars_stop_the_build_with_the_var_named(tmp_path: Path) -> None:
    for bad, message in (
        ({"dbt_pipeline_costs_forecast_engine": "r"}, "dbt_pipeline_costs_forecast_engine must be 'sql' or 'python'"),
        ({"dbt_pipeline_costs_pipeline_budgets": {"x": "lots"}}, "dbt_pipeline_costs_pipeline_budgets.x must be"),
    ):
        result = run_dbt(["compile", "--select", "cost_forecast_summary", "--vars", json.dumps({**BASE_VARS, **bad}),
                          "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
                         tmp_path / "bad.duckdb", check=False)
        assert result.returncode != 0 and message in result.stdout + result.stderr, result.stdout[-3000:]


# -------------------------------------------------------------------------------------------
# The SQL engine is least squares on a trend and weekday intercepts
# -------------------------------------------------------------------------------------------
def least_squares(days: list[tuple[dt.date, float]], origin: dt.date, steps: int, z: float) -> dict[str, Any]:
    """Reference fit with numpy's lstsq on the full design matrix [weekday dummies | t]: predictions,
    daily and cumulative interval half-widths, level, trend, residual sd."""
    t = np.array([(d - origin).days for d, _ in days], dtype=float)
    y = np.array([v for _, v in days], dtype=float)
    def design(ts: np.ndarray) -> np.ndarray:
        weekdays = [(origin + dt.timedelta(days=int(x))).weekday() for x in ts]
        return np.column_stack([np.eye(7)[weekdays], ts])
    x = design(t)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    sd = math.sqrt(float(((y - x @ beta) ** 2).sum()) / (len(y) - 8))
    inverse = np.linalg.inv(x.T @ x)
    future = design(np.arange(1, steps + 1, dtype=float))
    daily = sd * np.sqrt(1 + np.einsum("ij,jk,ik->i", future, inverse, future))
    sums = np.cumsum(future, axis=0)
    cumulative = sd * np.sqrt(np.arange(1, steps + 1) + np.einsum("ij,jk,ik->i", sums, inverse, sums))
    return {"predicted": future @ beta, "daily": z * daily, "cumulative": z * cumulative,
            "level": float(beta[:7].mean()), "trend": float(beta[7]), "sd": sd}


def assert_sql_engine_is_least_squares(db: Path, relative: float) -> int:
    """Every forecast series of db's cost_forecast / summary against least_squares() on int_forecast_series."""
    z = float(norm.ppf(0.9))
    training: dict[str, list[tuple[dt.date, float]]] = defaultdict(list)
    for r in rows(db, f"""select series_type || '/' || series_id as key, spend_date, cost from {MARTS_SCHEMA}.int_forecast_series
                         where is_training_day and status = 'forecast' order by spend_date"""):
        training[r["key"]].append((r["spend_date"], float(r["cost"])))
    summary = {r["key"]: r for r in rows(db, f"select series_type || '/' || series_id as key, * from {MARTS_SCHEMA}.cost_forecast_summary")}
    forecast: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows(db, f"select series_type || '/' || series_id as key, * from {MARTS_SCHEMA}.cost_forecast order by forecast_date"):
        forecast[r["key"]].append(r)
    assert set(training) == set(forecast) and training
    def close(got: float, want: float, scale: float) -> bool:
        return abs(got - want) <= relative * max(abs(want), scale, 1e-9)
    for key, days in training.items():
        fit = summary[key]
        origin = fit["origin_date"]
        steps = (fit["month_end_date"] - origin).days
        ref = least_squares(days, origin, max(steps, HORIZON), z)
        scale = abs(ref["level"]) + ref["sd"]
        assert close(fit["level_at_origin"], ref["level"], scale), (key, fit["level_at_origin"], ref["level"])
        assert close(fit["trend_per_day"], ref["trend"], scale), (key, fit["trend_per_day"], ref["trend"])
        assert close(fit["residual_sd"], ref["sd"], scale), (key, fit["residual_sd"], ref["sd"])
        for i, r in enumerate(forecast[key]):
            predicted = ref["predicted"][i]
            assert close(float(r["predicted_cost"]), max(predicted, 0.0), scale), (key, r, predicted)
            assert close(float(r["upper_cost"]), max(predicted + ref["daily"][i], 0.0), scale), (key, r)
            assert close(float(r["lower_cost"]), max(predicted - ref["daily"][i], 0.0), scale), (key, r)
        if steps > 0:  # the month-end interval is the cumulative one at the month's last day
            rest = float(fit["projected_month_end_upper_cost"] - fit["month_to_date_cost"])
            clipped = float(np.maximum(ref["predicted"][:steps], 0).sum())
            want = max(float(ref["predicted"][:steps].sum() + ref["cumulative"][steps - 1]), clipped)
            assert close(rest, want, scale * steps), (key, rest, want)
    return len(training)


def test_sql_engine_is_least_squares_on_the_synthetic_series(synthetic: dict[str, Path]) -> None:
    assert assert_sql_engine_is_least_squares(synthetic["sql"], 1e-8) >= len(ss.RECOVERY_CASES)


# -------------------------------------------------------------------------------------------
# The shared integration build (SQL engine, daily_spend from the generated logs)
# -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_refresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return integration_build(tmp_path_factory, "full_refresh")


def test_daily_spend_equals_ground_truth(full_refresh: Path) -> None:
    keys = ("series_type", "series_id", "spend_date")
    want = {tuple(r[k] for k in keys): r for r in rows(full_refresh, "select * from ground_truth.daily_spend")}
    got = {tuple(r[k] for k in keys): r for r in rows(full_refresh, f"select * from {MARTS_SCHEMA}.daily_spend")}
    assert want, "ground_truth.daily_spend is empty"
    missing, extra = sorted(set(want) - set(got), key=str)[:5], sorted(set(got) - set(want), key=str)[:5]
    assert not missing and not extra, f"daily_spend: rows missing {missing} / unexpected {extra}"
    allocated = {r["pipeline_id"] for r in rows(full_refresh, """
        select distinct pipeline_id from ground_truth.pipeline_cost_history where platform <> 'bigquery'""")}
    wrong = []
    for key, w in want.items():
        tolerance = ALLOCATED_TOLERANCE if key[0] == "pipeline" and key[1] in allocated else Decimal("0.000001")
        if abs(got[key]["cost"] - w["cost"]) > tolerance or got[key]["currency"] != w["currency"]:
            wrong.append((key, got[key]["cost"], w["cost"]))
    assert not wrong, f"{len(wrong)} days differ, e.g. {wrong[:5]}"


def test_integration_build_forecasts_the_total_and_the_main_pipelines(full_refresh: Path) -> None:
    summary = {(r["series_type"], r["series_id"]): r for r in rows(full_refresh, f"select * from {MARTS_SCHEMA}.cost_forecast_summary")}
    counts = {(r["series_type"], r["series_id"]): r["n"] for r in rows(full_refresh, f"""
        select series_type, series_id, count(*) as n from {MARTS_SCHEMA}.cost_forecast group by 1, 2""")}
    main = [r["series_id"] for r in rows(full_refresh, """
        select series_id from ground_truth.daily_spend where series_type = 'pipeline'
        group by series_id order by sum(cost) desc limit 5""")]
    for key in [("total", "total"), *(("pipeline", p) for p in main)]:
        assert summary[key]["status"] == "forecast" and counts.get(key) == HORIZON, (key, summary.get(key))
    for key, fit in summary.items():
        enough = fit["history_days"] >= MIN_HISTORY
        assert (fit["status"] != "insufficient_history") == enough, fit
        assert counts.get(key, 0) == (HORIZON if fit["status"] == "forecast" else 0), key
    total = summary[("total", "total")]
    month = rows(full_refresh, f"""select coalesce(sum(cost), 0) as c from ground_truth.daily_spend
        where series_type = 'total' and spend_date >= date '{total['month_start_date']}'""")[0]["c"]
    assert abs(total["month_to_date_cost"] - month) <= Decimal("0.000001")
    assert total["projected_month_end_lower_cost"] <= total["projected_month_end_cost"] <= total["projected_month_end_upper_cost"]


def test_integration_sql_engine_is_least_squares(full_refresh: Path) -> None:
    assert assert_sql_engine_is_least_squares(full_refresh, 1e-7) >= 2


def test_planted_weekend_dip_shows_in_the_fit(full_refresh: Path) -> None:
    """The hourly dbt Cloud job skips most weekend runs (planted weekly_seasonality): its Saturday and
    Sunday effects are its lowest."""
    planted = {r["finding"]: r for r in rows(full_refresh, "select * from ground_truth.planted_findings")}
    if "weekly_seasonality" not in planted:
        pytest.skip(f"the generator planted {sorted(planted)}")
    effects = {r["forecast_date"].weekday(): r["seasonal_effect"] for r in rows(full_refresh, f"""
        select forecast_date, seasonal_effect from {MARTS_SCHEMA}.cost_forecast
        where series_type = 'pipeline' and series_id = '{planted['weekly_seasonality']['pipeline_id']}' and horizon_day <= 7""")}
    assert max(effects[5], effects[6]) < min(effects[w] for w in range(5)), effects


def test_planted_cost_trend_is_recovered(full_refresh: Path) -> None:
    """The two-platform DAG's BigQuery models scan 1 + g x day times their base bytes (planted
    cost_trend): its BigQuery cost on day d is base x (1 + g d), so the true slope is g x base, with
    base from the ground truth's BigQuery cost of the pipeline and the known g. The fit must find it
    within half of it or three standard errors of a slope, whichever is wider (the Databricks half
    of the run and the daily noise stay in the series)."""
    planted = {r["finding"]: r for r in rows(full_refresh, "select * from ground_truth.planted_findings")}
    if "cost_trend" not in planted:
        pytest.skip(f"the generator planted {sorted(planted)}")
    pipeline, growth, day0 = (planted["cost_trend"][k] for k in ("pipeline_id", "factor", "started_at"))
    quoted = pipeline.replace("'", "''")
    daily = rows(full_refresh, f"""
        select cast(started_at as date) as day, sum(cost) as cost from ground_truth.query_costs
        where pipeline_id = '{quoted}' and platform = 'bigquery' group by 1""")
    base = sum(float(r["cost"]) for r in daily) / sum(1 + growth * (r["day"] - day0.date()).days for r in daily)
    true_slope = growth * base
    fit = rows(full_refresh, f"""
        select trend_per_day, residual_sd, training_days from {MARTS_SCHEMA}.cost_forecast_summary
        where series_type = 'pipeline' and series_id = '{quoted}'""")[0]
    n = fit["training_days"]
    slope_se = fit["residual_sd"] / math.sqrt(n * (n * n - 1) / 12)  # sd / sqrt(sum (t - mean t)^2)
    tolerance = max(0.5 * true_slope, 3 * slope_se)
    assert fit["trend_per_day"] > 0 and abs(fit["trend_per_day"] - true_slope) <= tolerance, (fit, true_slope)


# -------------------------------------------------------------------------------------------
# The SQL engine on Spark
# -------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="no Java on PATH: pyspark cannot start a JVM")
def test_sql_engine_on_spark_equals_duckdb(synthetic: dict[str, Path], tmp_path: Path) -> None:
    """The seed and the forecast models built on a local Spark session (tests/spark_support.py) hold
    the DuckDB build's rows: floats within a relative 1e-9, money within 1e-9, dates equal."""
    import duckdb
    from spark_support import SPARK_PACKAGE_SCHEMA, same_value

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    work = tmp_path / "spark"
    marts = ["int_forecast_series", "cost_forecast", "cost_forecast_summary"]
    spark_vars = {**BASE_VARS, "dbt_pipeline_costs_bigquery_enabled": False, "dbt_pipeline_costs_unit_tests": False}
    result = subprocess.run(
        [sys.executable, str(REPO / "tests" / "spark_support.py"), "--duckdb", str(empty), "--work", str(work),
         "--vars", json.dumps(spark_vars), "--select", f"{SEED}+",
         *(a for m in marts for a in ("--export", f"{SPARK_PACKAGE_SCHEMA}.{m}"))],
        cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    report_path = work / "spark_report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    failed = [f"{r['unique_id']}: {r['status']} {(r['message'] or '')[:800]}"
              for r in (report.get("dbt") or {}).get("results", []) if r["status"] not in ("success", "pass")]
    assert result.returncode == 0 and not failed, (
        "\n".join(failed) or (report.get("harness_error") or (report.get("dbt") or {}).get("error") or result.stdout[-4000:]))
    key_columns = {"int_forecast_series": ["series_type", "series_id", "spend_date"],
                   "cost_forecast": ["series_type", "series_id", "forecast_date"],
                   "cost_forecast_summary": ["series_type", "series_id"]}
    with duckdb.connect(str(synthetic["sql"]), read_only=True) as con:
        for mart in marts:
            want = con.sql(f"select * from {MARTS_SCHEMA}.{mart}")
            columns = want.columns
            want_rows = {tuple(r[columns.index(k)] for k in key_columns[mart]): r for r in want.fetchall()}
            got = con.sql(f"select {', '.join(columns)} from read_parquet('{work / 'export' / f'{SPARK_PACKAGE_SCHEMA}.{mart}'}/*.parquet')")
            got_rows = {tuple(r[columns.index(k)] for k in key_columns[mart]): r for r in got.fetchall()}
            assert set(got_rows) == set(want_rows), mart
            diffs = [(key, c, g, w) for key, row in want_rows.items()
                     for c, g, w in zip(columns, got_rows[key], row, strict=True) if not same_value(g, w)]
            assert not diffs, f"{mart}: {len(diffs)} values differ (key, column, spark, duckdb): {diffs[:5]}"
