{#-
    The most expensive queries of one pipeline run, with the node that sent each, its bytes,
    duration and cost. Compile with

        dbt compile --select top_queries_for_run --vars '{dbt_pipeline_costs_analysis_pipeline_id: daily_finance,
            dbt_pipeline_costs_analysis_run_id: "scheduled__2026-11-19T05:00:00+00:00", dbt_pipeline_costs_top_n: 20}'

    and run the SQL in target/compiled/ (or paste it into a BI tool). A pipeline run id is unique only
    within its pipeline, so the run id needs the pipeline. Without a run id: the pipeline's latest run;
    without either: the latest run of every pipeline. Ties in cost are broken by query id.
-#}
{%- set pipeline_id = dbt_pipeline_costs.analysis_text_var('dbt_pipeline_costs_analysis_pipeline_id') -%}
{%- set run_id = dbt_pipeline_costs.analysis_text_var('dbt_pipeline_costs_analysis_run_id') -%}
{%- set top_n = var('dbt_pipeline_costs_top_n', 10) -%}
{#- Checked when compiling only (execute): a wrong var never stops `dbt parse` or a build. -#}
{%- if execute and run_id and not pipeline_id -%}
    {{ exceptions.raise_compiler_error(
        "dbt_pipeline_costs: set --vars '{dbt_pipeline_costs_analysis_pipeline_id: ..., dbt_pipeline_costs_analysis_run_id: ...}'"
        ~ " to list a run's queries (a pipeline run id is unique only within its pipeline)"
    ) }}
{%- endif -%}
{%- set top_n_ok = top_n is number and top_n is not sameas true and top_n is not sameas false
    and top_n >= 1 and top_n == top_n | int -%}
{%- if execute and not top_n_ok -%}
    {{ exceptions.raise_compiler_error(
        "dbt_pipeline_costs: dbt_pipeline_costs_top_n must be a whole number >= 1; got '" ~ top_n ~ "'"
    ) }}
{%- endif %}

with

runs as (
    {{ dbt_pipeline_costs.analysis_runs(pipeline_id) }}
),

selected_runs as (
    select * from runs
    {%- if run_id %}
    where pipeline_run_id = '{{ dbt_pipeline_costs.escape_string_literal(run_id) }}'
    {%- else %}
    where recency = 1
    {%- endif %}
),

ranked as (
    select
        queries.pipeline_id,
        queries.pipeline_run_id,
        selected_runs.total_cost as run_total_cost,
        queries.platform,
        queries.project_id,
        queries.location,
        queries.query_id,
        queries.invocation_id,
        queries.node_id,
        queries.resource_type,
        queries.statement_type,
        queries.pricing_model,
        queries.started_at,
        queries.ended_at,
        queries.duration_ms,
        queries.bytes_processed,
        queries.bytes_billed,
        queries.slot_ms,
        queries.cost,
        queries.currency,
        row_number() over (
            partition by queries.pipeline_id, queries.pipeline_run_id
            order by queries.cost desc, queries.query_id asc, queries.project_id asc, queries.location asc
        ) as cost_rank
    from {{ ref('query_costs') }} as queries
    inner join selected_runs
        on
            queries.pipeline_id = selected_runs.pipeline_id
            and queries.pipeline_run_id = selected_runs.pipeline_run_id
    where queries.is_dbt
),

final as (
    select
        ranked.pipeline_id,
        ranked.pipeline_run_id,
        ranked.cost_rank,
        ranked.platform,
        ranked.project_id,
        ranked.location,
        ranked.query_id,
        ranked.invocation_id,
        ranked.node_id,
        ranked.resource_type,
        ranked.statement_type,
        ranked.pricing_model,
        ranked.started_at,
        ranked.ended_at,
        ranked.duration_ms,
        ranked.bytes_processed,
        ranked.bytes_billed,
        ranked.slot_ms,
        ranked.cost,
        ranked.currency,
        case
            when ranked.run_total_cost > 0
                then {{ dbt_pipeline_costs.ratio('ranked.cost * 100', 'ranked.run_total_cost') }}
        end as share_of_run_pct
    from ranked
    where ranked.cost_rank <= {{ top_n | int }}
)

select * from final
order by pipeline_id asc, cost_rank asc
