{{
    config(
        materialized='incremental',
        unique_key=['invocation_id', 'node_key'],
        incremental_strategy=dbt_pipeline_costs.incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}
{#-
    The dbt queries of query_costs summed per invocation x node (node_key '(no node)' for a dbt
    query without a node): the small table every per-model and per-pipeline mart aggregates, so
    none of them scans query_costs. Incremental by invocation: an invocation with any query
    loaded since this model's own watermark (minus the lookback) is recomputed whole, so late rows
    land in the right group and nothing is counted twice.
-#}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('last_created_at') -%}
{%- set databricks = var('dbt_pipeline_costs_databricks_enabled') -%}
{#- What the roll-up reads of each cost: a query of query_costs, or a Databricks job-run line. -#}
{%- set cost_columns = [
    'invocation_id', 'node_id', 'platform', 'resource_type', 'pipeline_id', 'pipeline_run_id', 'orchestrator',
    'error_reason', 'query_id', 'cost', 'currency', 'bytes_billed', 'slot_ms', 'started_at', 'ended_at', 'created_at',
] -%}
{%- set line_columns = [
    'invocation_id', 'node_id', 'platform', 'resource_type', 'pipeline_id', 'pipeline_run_id', 'orchestrator',
    'query_id', 'cost', 'currency', 'created_at',
] -%}
{%- set line_null_types = {
    'bytes_billed': dbt.type_bigint(), 'slot_ms': dbt.type_bigint(),
    'started_at': dbt_pipeline_costs.timestamp_type(), 'ended_at': dbt_pipeline_costs.timestamp_type(),
} %}

with

{% if is_incremental() %}
changed_invocations as (
    select distinct query_costs.invocation_id
    from {{ ref('query_costs') }} as query_costs
    where query_costs.is_dbt and query_costs.created_at >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
    {%- if databricks %}
    union
    select distinct cost_lines.invocation_id
    from {{ ref('int_databricks_cost_lines') }} as cost_lines
    where
        cost_lines.line_type = 'job_run'
        and cost_lines.invocation_id is not null
        and cost_lines.created_at >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
    {%- endif %}
),

{% endif %}
costs as (
    {#- Each read is a plain scan (a CTE read twice would be materialised whole). -#}
    select
        {%- for column in cost_columns %}
        queries.{{ column }},
        {%- endfor %}
        1 as query_unit
    from {{ ref('query_costs') }} as queries
    where queries.is_dbt
    {%- if databricks %}
    union all
    {#- Databricks job compute split over the run's nodes (docs/cost-rules.md 10.5): money, not queries. #}
    select
        {%- for column in cost_columns %}
        {%- if column in line_columns %}
        cost_lines.{{ column }},
        {%- else %}
        cast(null as {{ line_null_types.get(column, dbt.type_string()) }}) as {{ column }},
        {%- endif %}
        {%- endfor %}
        0 as query_unit
    from {{ ref('int_databricks_cost_lines') }} as cost_lines
    where cost_lines.line_type = 'job_run' and cost_lines.invocation_id is not null
    {%- endif %}
),

selected as (
    select
        costs.*,
        coalesce(costs.node_id, '(no node)') as node_key,
        row_number() over (
            partition by costs.invocation_id, costs.node_id
            order by costs.ended_at desc nulls last, costs.query_id desc nulls last
        ) as recency
    from costs
    {%- if is_incremental() %}
    inner join changed_invocations on costs.invocation_id = changed_invocations.invocation_id
    {%- endif %}
),

final as (
    select
        selected.invocation_id,
        selected.node_key,
        min(selected.node_id) as node_id,
        min(selected.platform) as platform,
        min(selected.resource_type) as resource_type,
        min(selected.pipeline_id) as pipeline_id,
        min(selected.pipeline_run_id) as pipeline_run_id,
        min(selected.orchestrator) as orchestrator,
        case
            when max(
                case
                    when
                        selected.recency = 1
                        and selected.error_reason is not null
                        and selected.error_reason not in ('stopped', 'canceled')
                        then 1
                    else 0
                end
            ) = 1 then 'error'
            else 'success'
        end as status,
        sum(selected.cost) as cost,
        selected.currency,
        cast(sum(selected.query_unit) as {{ dbt.type_bigint() }}) as query_count,
        {#- NULL only when every query's is (Databricks statements have neither). #}
        sum(selected.bytes_billed) as bytes_billed,
        sum(selected.slot_ms) as slot_ms,
        min(selected.started_at) as first_started_at,
        max(selected.ended_at) as last_ended_at,
        max(selected.created_at) as last_created_at
    from selected
    group by selected.invocation_id, selected.node_key, selected.currency
)

select * from final
