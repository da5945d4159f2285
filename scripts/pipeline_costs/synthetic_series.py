"""Synthetic daily spend series with a known truth, for the forecast's tests (docs/cost-rules.md 12).

Each case is level + trend x t + a weekday effect + Gaussian noise of a known standard deviation,
t = days from the origin (ORIGIN, the series' last day: t = 0; history t < 0, the held-out future
t = 1 .. FUTURE_DAYS). Noise is seeded per case and drawn for history and future at once, so the
held-out days are reproducible. The history is the seed integration_tests/seeds/forecast_cases/
forecast_synthetic_series.csv (daily_spend's columns), forecast through the var
dbt_pipeline_costs_forecast_input; regenerate it with

    PYTHONPATH=scripts python -m pipeline_costs.synthetic_series [--out PATH]

(a test checks the committed file is what this writes).
"""

from __future__ import annotations

import argparse
import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ORIGIN = date(2026, 3, 12)  # a Thursday: 12 days of March are actual, 19 are forecast
FUTURE_DAYS = 60
SEED = 20260312
CURRENCY = "USD"
DECIMALS = 6
SEED_PATH = (Path(__file__).resolve().parents[2] / "integration_tests" / "seeds" / "forecast_cases"
             / "forecast_synthetic_series.csv")
COLUMNS = ("series_type", "series_id", "spend_date", "cost", "currency")


@dataclass(frozen=True)
class Case:
    """One series: mean(t) = level + trend_per_day x t + weekday_effects[weekday], sd noise_sd."""

    series_type: str
    series_id: str
    level: float  # at the origin (t = 0), without the weekday effect
    trend_per_day: float
    weekday_effects: tuple[float, ...]  # Monday .. Sunday, summing to 0
    noise_sd: float
    history_days: int  # rows in the seed, the first day included (the forecast leaves it out)
    active_days: int | None = None  # spend only on the first active_days days (then 0), e.g. a retired pipeline

    def __post_init__(self) -> None:
        assert len(self.weekday_effects) == 7 and abs(sum(self.weekday_effects)) < 1e-6, self.series_id


CASES: tuple[Case, ...] = (
    Case("total", "total", 400.0, 1.5, (20.0, 25.0, 15.0, 10.0, 5.0, -35.0, -40.0), 8.0, 121),
    Case("pipeline", "steady_growth", 50.0, 0.4, (3.0, 4.0, 2.0, 1.0, 0.0, -5.0, -5.0), 2.0, 91),
    Case("pipeline", "declining", 80.0, -0.3, (2.0, 2.0, 1.0, 0.0, -1.0, -2.0, -2.0), 3.0, 101),
    Case("pipeline", "weekend_heavy", 40.0, 0.0, (-10.0, -10.0, -10.0, -10.0, -10.0, 25.0, 25.0), 3.0, 61),
    Case("pipeline", "noisy", 300.0, 1.5, (10.0, 5.0, 0.0, 0.0, 5.0, -10.0, -10.0), 20.0, 91),
    Case("pipeline", "budget_exact", 100.0, 1.0, (6.0, 4.0, 2.0, 0.0, -2.0, -4.0, -6.0), 0.05, 61),
    Case("pipeline", "young", 30.0, 0.5, (2.0, 1.0, 0.0, 0.0, 0.0, -1.0, -2.0), 1.0, 21),
    Case("pipeline", "short_history", 10.0, 0.0, (0.0,) * 7, 1.0, 10),
    Case("pipeline", "retired", 60.0, 0.0, (1.0, 1.0, 0.0, 0.0, 0.0, -1.0, -1.0), 2.0, 151, active_days=40),
)


def _coverage_cases(count: int) -> tuple[Case, ...]:
    """More series of the same kind with drawn parameters: the interval coverage is a share of
    held-out days, and the days of one series share its estimation error."""
    rng = np.random.default_rng([SEED, 1000])
    cases = []
    for i in range(count):
        level = round(float(rng.uniform(50, 500)), 2)
        trend = round(level * float(rng.uniform(-0.003, 0.01)), 4)
        effects = rng.normal(0.0, 0.08 * level, 7)
        effects = [round(float(e), 4) for e in effects - effects.mean()]
        effects[-1] = round(-sum(effects[:-1]), 4)
        sd = round(level * float(rng.uniform(0.02, 0.08)), 4)
        cases.append(Case("pipeline", f"coverage_{i + 1:02d}", level, trend, tuple(effects), sd, 91))
    return tuple(cases)


CASES += _coverage_cases(10)
# Cases whose truth the forecast must recover (the others test the rules around it); the
# interval's coverage is measured on those with noise (budget_exact has almost none).
RECOVERY_CASES = ("total", "steady_growth", "declining", "weekend_heavy", "noisy", "budget_exact",
                  *(c.series_id for c in CASES if c.series_id.startswith("coverage_")))
COVERAGE_CASES = tuple(s for s in RECOVERY_CASES if s != "budget_exact")


def case(series_id: str) -> Case:
    return next(c for c in CASES if c.series_id == series_id)


def day(t: int) -> date:
    return ORIGIN + timedelta(days=t)


def weekday_effect(c: Case, t: int) -> float:
    return c.weekday_effects[day(t).weekday()]


def mean(c: Case, t: int) -> float:
    """The true expected spend on day t (0 after a retired case's active days)."""
    if c.active_days is not None and t > -c.history_days + c.active_days:
        return 0.0
    return c.level + c.trend_per_day * t + weekday_effect(c, t)


def values(c: Case) -> dict[int, float]:
    """{t: spend} for the history and the held-out future, rounded to DECIMALS (never below 0)."""
    first = -(c.history_days - 1)
    rng = np.random.default_rng([SEED, CASES.index(c)])
    noise = rng.normal(0.0, c.noise_sd, FUTURE_DAYS - first + 1)
    out = {}
    for i, t in enumerate(range(first, FUTURE_DAYS + 1)):
        expected = mean(c, t)
        out[t] = 0.0 if expected == 0 else round(expected + float(noise[i]), DECIMALS)
        assert out[t] >= 0, (c.series_id, t, out[t])
    return out


def history(c: Case) -> dict[int, float]:
    return {t: v for t, v in values(c).items() if t <= 0}


def future(c: Case) -> dict[int, float]:
    return {t: v for t, v in values(c).items() if t > 0}


def seed_csv() -> str:
    """The seed's text: every case's history, one row per day."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for c in CASES:
        for t, v in history(c).items():
            writer.writerow((c.series_type, c.series_id, day(t).isoformat(), f"{v:.{DECIMALS}f}", CURRENCY))
    return buffer.getvalue()


def write_seed(path: Path = SEED_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(seed_csv())
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the forecast's synthetic series seed.")
    parser.add_argument("--out", type=Path, default=SEED_PATH)
    args = parser.parse_args(argv)
    write_seed(args.out)


if __name__ == "__main__":
    main()
