"""The Python forecast engine (docs/cost-rules.md section 12): Holt-Winters exponential smoothing.

Per series of int_forecast_series with status 'forecast': statsmodels' ETSModel with additive error,
additive trend and additive weekly seasonality (ETS(A,A,A), period 7), fitted by maximum likelihood
on the training days. Prediction intervals: the model's analytic error variance of each day and of
the sum of days 1..h (statsmodels' formula; the sum's errors are a linear combination of the future
innovations), with the residual variance taken as SSE / (n - parameters), plus the estimation
variance of a fixed trend and weekday effects (least squares' x'(X'X)^-1 x) - the model's own
variances take its fitted states as known. Level and seasonal effects are reported centred (the 7
latest seasonal states sum to 0). A series with fewer than MIN_ETS_DAYS training days, or whose
fit fails or gives non-finite values, gets the SQL engine's method instead (ordinary least squares
on a trend and weekday intercepts, 'ols_weekday', same formulas). Same output columns as
int_cost_forecast_sql. Enabled only when dbt_pipeline_costs_forecast_engine is 'python'; the vars
arrive as config (models/marts/forecast/_forecast__models.yml).

Runs where dbt runs Python models: DuckDB (in the dbt process; dbt.ref gives a DuckDB relation),
Databricks and BigQuery with Dataproc (dbt.ref gives a Spark DataFrame; statsmodels must be
installed on the cluster: config `packages`).
"""

import contextlib
import datetime
import math
import warnings

import numpy as np
import pandas as pd

SEASON_DAYS = 7
MIN_ETS_DAYS = 4 * SEASON_DAYS
COLUMNS = [
    "series_type", "series_id", "currency", "origin_date", "forecast_date", "horizon_day",
    "predicted_cost", "lower_cost", "upper_cost", "cumulative_predicted_cost", "cumulative_lower_cost",
    "cumulative_upper_cost", "seasonal_effect", "level_at_origin", "trend_per_day", "residual_sd",
    "training_days", "method",
]
EMPTY_TYPES = {
    "series_type": str, "series_id": str, "currency": str, "origin_date": "datetime64[s]",
    "forecast_date": "datetime64[s]", "horizon_day": "int64", "training_days": "int64", "method": str,
}


def _to_pandas(frame):
    """A DuckDB relation, a Spark DataFrame or a pandas DataFrame, as pandas."""
    if isinstance(frame, pd.DataFrame):
        return frame
    if hasattr(frame, "toPandas"):
        return frame.toPandas()
    return frame.df()


def _one_blas_thread():
    """One BLAS thread while fitting: the optimiser's tiny problems only lose to thread hand-offs
    (measured: 16 fits 9.4 s with 2 OpenBLAS threads on a busy 2-core machine, 1.9 s with one)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _as_date(value):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return pd.Timestamp(value).date()


def _last_forecast_day(origin, horizon_days):
    """The later of origin + horizon and the last day of the month of origin + 1 (days after origin)."""
    first = origin + datetime.timedelta(days=1)
    next_month = (first.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
    month_end = next_month - datetime.timedelta(days=1)
    return max(horizon_days, (month_end - origin).days)


def ols_weekday(t, y, weekday, future_t, future_weekday):
    """Least squares on a trend and 7 weekday intercepts (the SQL engine's method, same formulas)."""
    intercepts, t_means, counts = {}, {}, {}
    spread = 0.0
    cross = 0.0
    for w in range(SEASON_DAYS):
        mask = weekday == w
        counts[w] = int(mask.sum())
        t_means[w] = float(t[mask].mean())
        dt = t[mask] - t_means[w]
        spread += float((dt * dt).sum())
        cross += float((dt * (y[mask] - y[mask].mean())).sum())
    slope = cross / spread if spread > 0 else 0.0
    for w in range(SEASON_DAYS):
        mask = weekday == w
        intercepts[w] = float(y[mask].mean()) - slope * t_means[w]
    level = float(np.mean([intercepts[w] for w in range(SEASON_DAYS)]))
    fitted = np.array([intercepts[w] for w in weekday]) + slope * t
    sd = math.sqrt(float(((y - fitted) ** 2).sum()) / (len(y) - 8))
    predicted = np.array([intercepts[w] for w in future_weekday]) + slope * future_t
    n_w = np.array([counts[w] for w in future_weekday], dtype=float)
    t_w = np.array([t_means[w] for w in future_weekday])
    daily_sd = sd * np.sqrt(1 + 1 / n_w + (future_t - t_w) ** 2 / spread)
    seen = {w: 0 for w in range(SEASON_DAYS)}
    weekday_terms = []
    for w in future_weekday:
        seen[w] += 1
        weekday_terms.append((2 * seen[w] - 1) / counts[w])
    days = np.arange(1, len(future_t) + 1)
    cumulative_sd = sd * np.sqrt(days + np.cumsum(weekday_terms) + np.cumsum(future_t - t_w) ** 2 / spread)
    return {
        "predicted": predicted, "daily_sd": daily_sd, "cumulative_sd": cumulative_sd, "level": level,
        "trend": slope, "seasonal": np.array([intercepts[w] - level for w in future_weekday]), "sd": sd,
        "method": "ols_weekday",
    }


def estimation_terms(t, weekday, future_t, future_weekday):
    """x'(X'X)^-1 x of each future day and of the sums of days 1..h, X = [weekday dummies | t] of the
    training days: the share of the variance that comes from estimating level, trend and weekday
    effects (in units of the residual variance)."""
    x = np.column_stack([np.eye(SEASON_DAYS)[weekday], t])
    inverse = np.linalg.pinv(x.T @ x)
    future = np.column_stack([np.eye(SEASON_DAYS)[future_weekday], future_t])
    sums = np.cumsum(future, axis=0)
    daily = np.einsum("ij,jk,ik->i", future, inverse, future)
    cumulative = np.einsum("ij,jk,ik->i", sums, inverse, sums)
    return np.maximum(daily, 0), np.maximum(cumulative, 0)


def holt_winters(y, start, steps, z, estimation=None):
    """ETS(A,A,A) with weekly seasonality; None when the fit fails. estimation: estimation_terms()
    of the training days, added to the model's own variances (which take its parameters as known)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    series = pd.Series(y, index=pd.date_range(start, periods=len(y), freq="D"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ETSModel(series, error="add", trend="add", seasonal="add", seasonal_periods=SEASON_DAYS).fit(
            disp=False
        )
        predicted = np.asarray(fit.forecast(steps), dtype=float)
    season = np.asarray(fit.season, dtype=float)[-SEASON_DAYS:]
    level = float(np.asarray(fit.level, dtype=float)[-1] + season.mean())
    trend = float(np.asarray(fit.slope, dtype=float)[-1])
    # The residual variance with a degrees-of-freedom correction, SSE / (n - estimated parameters),
    # as the SQL engine's (statsmodels uses SSE / n).
    sd = math.sqrt(float(fit.mse) * float(fit.nobs) / float(fit.df_resid))
    # Day h: the model's own error variance, sd^2 (1 + sum_(j<h) c_j^2), c_j = alpha + beta j +
    # gamma [j mod 7 = 0] (Hyndman et al. 2008; statsmodels' intervals). Sum of days 1..H:
    # sum_i eps_(T+i) (1 + C(H - i)), C(k) = sum_(j<=k) c_j, so sd^2 sum_(k<H) (1 + C(k))^2.
    params = dict(zip(fit.param_names, np.asarray(fit.params, dtype=float), strict=True))
    alpha, beta, gamma = params["smoothing_level"], params["smoothing_trend"], params["smoothing_seasonal"]
    j = np.arange(1, steps)
    c = alpha + beta * j + gamma * (j % SEASON_DAYS == 0)
    daily_variance = np.concatenate([[1.0], 1 + np.cumsum(c**2)])
    cumulative_variance = np.cumsum((1 + np.concatenate([[0.0], np.cumsum(c)])) ** 2)
    # Both take the fitted level, trend and seasonal states as known; with smoothing near 0 they are
    # those of a fixed trend and weekday effects, whose estimation error adds (the least squares
    # term) - without it the interval of a month's sum holds the truth far less often than it says.
    if estimation is not None:
        daily_variance = daily_variance + estimation[0]
        cumulative_variance = cumulative_variance + estimation[1]
    daily_sd = sd * np.sqrt(daily_variance)
    cumulative_sd = sd * np.sqrt(cumulative_variance)
    result = {
        "predicted": predicted, "daily_lower": predicted - z * daily_sd, "daily_upper": predicted + z * daily_sd,
        "cumulative_sd": cumulative_sd,
        "level": level, "trend": trend, "seasonal": predicted - level - trend * np.arange(1, steps + 1),
        "sd": sd, "method": "holt_winters",
    }
    values = [predicted, daily_sd, cumulative_sd, [level, trend, sd]]
    return result if all(np.all(np.isfinite(v)) for v in values) else None


def forecast_series(days, horizon_days, z):
    """Forecast rows of one series (its int_forecast_series rows)."""
    days = days.sort_values("spend_date")
    training = days[days["is_training_day"].astype(bool)]
    origin = _as_date(days["origin_date"].iloc[0])
    steps = _last_forecast_day(origin, horizon_days)
    y = training["cost"].astype(float).to_numpy()
    t = training["day_index"].astype(float).to_numpy()
    weekday = training["weekday"].astype(int).to_numpy()
    future_t = np.arange(1, steps + 1, dtype=float)
    future_weekday = (weekday[-1] + (future_t - t[-1]).astype(int)) % SEASON_DAYS
    fit = None
    if len(y) >= MIN_ETS_DAYS:
        try:
            estimation = estimation_terms(t, weekday, future_t, future_weekday)
            fit = holt_winters(y, _as_date(training["spend_date"].iloc[0]), steps, z, estimation)
        except Exception:  # noqa: BLE001 - any failure of the fit falls back to least squares
            fit = None
    if fit is None:
        fit = ols_weekday(t, y, weekday, future_t, future_weekday)
        fit["daily_lower"] = fit["predicted"] - z * fit["daily_sd"]
        fit["daily_upper"] = fit["predicted"] + z * fit["daily_sd"]
    cumulative = np.cumsum(fit["predicted"])
    first = days.iloc[0]
    return pd.DataFrame({
        "series_type": first["series_type"],
        "series_id": first["series_id"],
        "currency": first["currency"],
        "origin_date": origin,
        "forecast_date": [origin + datetime.timedelta(days=int(h)) for h in future_t],
        "horizon_day": future_t.astype(int),
        "predicted_cost": fit["predicted"],
        "lower_cost": fit["daily_lower"],
        "upper_cost": fit["daily_upper"],
        "cumulative_predicted_cost": cumulative,
        "cumulative_lower_cost": cumulative - z * fit["cumulative_sd"],
        "cumulative_upper_cost": cumulative + z * fit["cumulative_sd"],
        "seasonal_effect": fit["seasonal"],
        "level_at_origin": fit["level"],
        "trend_per_day": fit["trend"],
        "residual_sd": fit["sd"],
        "training_days": len(y),
        "method": fit["method"],
    })


def forecast_frame(series_days, horizon_days, interval_pct):
    """Every forecast series' rows; an empty frame with the columns when there is none."""
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + interval_pct / 200))
    wanted = series_days[series_days["status"] == "forecast"]
    with _one_blas_thread():
        parts = [forecast_series(days, horizon_days, z)
                 for _, days in wanted.groupby(["series_type", "series_id"], sort=True)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=EMPTY_TYPES.get(c, float)) for c in COLUMNS})
    return pd.concat(parts, ignore_index=True)[COLUMNS]


def model(dbt, session):
    dbt.config(materialized="table")
    horizon_days = int(float(dbt.config.get("forecast_horizon_days")))
    interval_pct = float(dbt.config.get("forecast_interval_pct"))
    result = forecast_frame(_to_pandas(dbt.ref("int_forecast_series")), horizon_days, interval_pct)
    if hasattr(session, "createDataFrame"):  # Spark (Databricks, Dataproc): hand back a Spark DataFrame
        return session.createDataFrame(result)
    return result
