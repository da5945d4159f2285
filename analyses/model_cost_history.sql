{#-
    What building a model cost over time, in every pipeline that builds it: one row per build (or
    per day), with the change against the previous one and a rolling average over the last
    dbt_pipeline_costs_rolling_runs builds (or days with builds). Compile with

        dbt compile --select model_cost_history --vars '{dbt_pipeline_costs_analysis_model: fct_orders}'

    and run the SQL in target/compiled/ (or paste it into a BI tool). The model is a node id
    (model.shop.fct_orders: any node, exactly) or a model name (every model node of that name, in
    any project); without it, every node. dbt_pipeline_costs_history_grain: build (one row per
    invocation that built the node; reused and skipped results are not builds) or day (the builds of
    each UTC day summed). A build's time is its first query's start (else dbt's execute or compile
    start).
-#}
{%- set model = dbt_pipeline_costs.analysis_text_var('dbt_pipeline_costs_analysis_model') -%}
{%- set grain = var('dbt_pipeline_costs_history_grain', 'build') -%}
{#- Reused and skipped results are not builds; a model name matches the end of a model's node id
    (substr with a negative start counts from the end on DuckDB, BigQuery and Spark alike). -#}
{%- set status_class = dbt_pipeline_costs.status_class('model_costs.status') -%}
{%- set conditions = [status_class ~ " not in ('reused', 'skipped', 'no_op')"] -%}
{%- if model and '.' in model -%}
    {%- do conditions.append("model_costs.node_id = '" ~ dbt_pipeline_costs.escape_string_literal(model) ~ "'") -%}
{%- elif model -%}
    {%- do conditions.append("model_costs.node_id like 'model.%'") -%}
    {%- do conditions.append(
        "substr(model_costs.node_id, -" ~ ((model | length) + 1) ~ ") = '."
        ~ dbt_pipeline_costs.escape_string_literal(model) ~ "'"
    ) -%}
{%- endif -%}
{#- Checked when compiling only (execute): a wrong var never stops `dbt parse` or a build. -#}
{%- if execute and grain not in ['build', 'day'] -%}
    {{ exceptions.raise_compiler_error(
        "dbt_pipeline_costs: dbt_pipeline_costs_history_grain must be 'build' or 'day'; got '" ~ grain ~ "'"
    ) }}
{%- endif %}

with

builds as (
    select
        model_costs.*,
        coalesce(
            model_costs.first_started_at, model_costs.execute_started_at, model_costs.compile_started_at
        ) as built_at
    from {{ ref('model_costs') }} as model_costs
    where
        {{ conditions | join('\n        and ') }}
),

{% if grain == 'build' -%}
final as (
    select
        builds.node_id,
        builds.resource_type,
        builds.platform,
        builds.pipeline_id,
        builds.pipeline_run_id,
        builds.invocation_id,
        builds.status,
        builds.built_at,
        {{ dbt_pipeline_costs.date_in_timezone('builds.built_at', 'UTC') }} as build_date,
        row_number() over node_builds as build_number,
        builds.cost,
        builds.currency,
        lag(builds.cost) over node_builds as previous_cost,
        builds.cost - lag(builds.cost) over node_builds as cost_change,
        {{ dbt_pipeline_costs.money(
            'avg(builds.cost) over (partition by builds.node_id order by builds.built_at, builds.invocation_id'
            ~ ' ' ~ dbt_pipeline_costs.rolling_runs_frame() ~ ')'
        ) }} as rolling_avg_cost,
        builds.query_count,
        builds.bytes_billed,
        builds.slot_ms,
        builds.execution_time_s,
        builds.rows_affected
    from builds
    window node_builds as (partition by builds.node_id order by builds.built_at, builds.invocation_id)
)
{%- else -%}
days as (
    select
        builds.node_id,
        {{ dbt_pipeline_costs.date_in_timezone('builds.built_at', 'UTC') }} as build_date,
        min(builds.resource_type) as resource_type,
        count(*) as build_count,
        count(distinct builds.pipeline_id) as pipeline_count,
        sum(case when builds.status in ('error', 'fail') then 1 else 0 end) as failed_build_count,
        sum(builds.cost) as cost,
        builds.currency,
        sum(builds.query_count) as query_count,
        sum(builds.bytes_billed) as bytes_billed,
        sum(builds.slot_ms) as slot_ms,
        sum(builds.execution_time_s) as execution_time_s
    from builds
    group by builds.node_id, {{ dbt_pipeline_costs.date_in_timezone('builds.built_at', 'UTC') }}, builds.currency
),

final as (
    select
        days.node_id,
        days.resource_type,
        days.build_date,
        days.build_count,
        days.pipeline_count,
        days.failed_build_count,
        days.cost,
        days.currency,
        lag(days.cost) over node_days as previous_cost,
        days.cost - lag(days.cost) over node_days as cost_change,
        {{ dbt_pipeline_costs.money(
            'avg(days.cost) over (partition by days.node_id order by days.build_date'
            ~ ' ' ~ dbt_pipeline_costs.rolling_runs_frame() ~ ')'
        ) }} as rolling_avg_cost,
        days.query_count,
        days.bytes_billed,
        days.slot_ms,
        days.execution_time_s
    from days
    window node_days as (partition by days.node_id order by days.build_date)
)
{%- endif %}

select * from final
order by node_id asc, {{ 'build_number' if grain == 'build' else 'build_date' }} asc
