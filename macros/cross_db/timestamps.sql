{#
    timestamp_literal(dt) -> a UTC timestamp literal for a Python datetime computed at compile time.
    Literal bounds (not subqueries) let BigQuery prune INFORMATION_SCHEMA partitions and DuckDB
    skip row groups.
#}
{% macro timestamp_literal(dt) -%}
    {%- set text = dt.strftime('%Y-%m-%d %H:%M:%S.%f') ~ '+00:00' -%}
    {{ return(adapter.dispatch('timestamp_literal', 'dbt_pipeline_costs')(text)) }}
{%- endmacro %}

{% macro default__timestamp_literal(text) -%}
    cast('{{ text }}' as timestamp with time zone)
{%- endmacro %}

{% macro bigquery__timestamp_literal(text) -%}
    timestamp('{{ text }}')
{%- endmacro %}

{% macro spark__timestamp_literal(text) -%}
    to_timestamp('{{ text }}')
{%- endmacro %}

{#- date_literal(dt) -> a DATE literal for the UTC calendar date of a Python datetime (compile time);
    bounds a read by a DATE partition column such as Databricks' usage_date. -#}
{% macro date_literal(dt) -%}
    cast('{{ dt.strftime('%Y-%m-%d') }}' as date)
{%- endmacro %}

{#- date_in_timezone(ts, tz) -> the calendar date of a UTC timestamp in an IANA time zone. -#}
{% macro date_in_timezone(ts, tz) -%}
    {{ return(adapter.dispatch('date_in_timezone', 'dbt_pipeline_costs')(ts, tz)) }}
{%- endmacro %}

{% macro default__date_in_timezone(ts, tz) -%}
    cast(timezone('{{ dbt.escape_single_quotes(tz) }}', {{ ts }}) as date)
{%- endmacro %}

{% macro bigquery__date_in_timezone(ts, tz) -%}
    date({{ ts }}, '{{ dbt.escape_single_quotes(tz) }}')
{%- endmacro %}

{% macro spark__date_in_timezone(ts, tz) -%}
    to_date(from_utc_timestamp({{ ts }}, '{{ dbt.escape_single_quotes(tz) }}'))
{%- endmacro %}

{#- milliseconds_between(start, end) -> whole milliseconds from start to end. -#}
{% macro milliseconds_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('milliseconds_between', 'dbt_pipeline_costs')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro default__milliseconds_between(start_ts, end_ts) -%}
    {#- DuckDB: date_diff counts unit boundaries crossed; subtract microseconds and truncate instead. -#}
    (epoch_us({{ end_ts }}) - epoch_us({{ start_ts }})) // 1000
{%- endmacro %}

{% macro bigquery__milliseconds_between(start_ts, end_ts) -%}
    timestamp_diff({{ end_ts }}, {{ start_ts }}, millisecond)
{%- endmacro %}

{% macro spark__milliseconds_between(start_ts, end_ts) -%}
    cast((unix_micros({{ end_ts }}) - unix_micros({{ start_ts }})) / 1000 as bigint)
{%- endmacro %}

{#- timestamp_type() -> the type of an absolute (UTC) point in time. -#}
{% macro timestamp_type() -%}
    {{ return(adapter.dispatch('timestamp_type', 'dbt_pipeline_costs')()) }}
{%- endmacro %}

{% macro default__timestamp_type() -%}
    timestamp with time zone
{%- endmacro %}

{% macro bigquery__timestamp_type() -%}
    timestamp
{%- endmacro %}

{% macro spark__timestamp_type() -%}
    timestamp
{%- endmacro %}

{#- ms_to_seconds(ms) -> exact decimal seconds (3 decimals) from whole milliseconds. -#}
{% macro ms_to_seconds(ms) -%}
    {{ return(adapter.dispatch('ms_to_seconds', 'dbt_pipeline_costs')(ms)) }}
{%- endmacro %}

{% macro default__ms_to_seconds(ms) -%}
    cast({{ ms }} as decimal(38, 0)) * cast(0.001 as decimal(38, 3))
{%- endmacro %}

{% macro bigquery__ms_to_seconds(ms) -%}
    {#- BigQuery: NUMERIC(P, S) allows at most 29 integer digits (no DECIMAL(38, 0)) and 0.001 is a FLOAT64 literal. -#}
    cast({{ ms }} as bignumeric) * bignumeric '0.001'
{%- endmacro %}

{#- try_cast_timestamp(text) -> the text as a timestamp, NULL when it is not one (never an error).
    dbt.safe_cast is a plain cast on DuckDB, so the package has its own. -#}
{% macro try_cast_timestamp(text) -%}
    {{ return(adapter.dispatch('try_cast_timestamp', 'dbt_pipeline_costs')(text)) }}
{%- endmacro %}

{% macro default__try_cast_timestamp(text) -%}
    try_cast({{ text }} as {{ dbt_pipeline_costs.timestamp_type() }})
{%- endmacro %}

{% macro bigquery__try_cast_timestamp(text) -%}
    safe_cast({{ text }} as timestamp)
{%- endmacro %}

{#- hour_start(ts) -> the UTC hour a timestamp falls in (a timestamp). Not date_trunc: on DuckDB it
    truncates a TIMESTAMPTZ in the session's time zone, and billing hours are UTC. -#}
{% macro hour_start(ts) -%}
    {{ return(adapter.dispatch('hour_start', 'dbt_pipeline_costs')(ts)) }}
{%- endmacro %}

{% macro default__hour_start(ts) -%}
    to_timestamp((epoch_us({{ ts }}) // 3600000000) * 3600)
{%- endmacro %}

{% macro bigquery__hour_start(ts) -%}
    timestamp_trunc({{ ts }}, hour, 'UTC')
{%- endmacro %}

{% macro spark__hour_start(ts) -%}
    {#- Spark: whole hours since the epoch are the same in every session time zone. -#}
    timestamp_seconds(cast(floor(unix_seconds({{ ts }}) / 3600) as bigint) * 3600)
{%- endmacro %}
