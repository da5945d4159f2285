{#-
    One row per platform x cost date x product: what was billed, how much of it dbt explains, and
    why the rest is not attributed (docs/cost-rules.md sections 5 and 10.7). billed = attributed +
    the five unattributed parts, exactly. BigQuery: product = pricing model, from query_costs.
    Databricks: product = billing_origin_product, from the cost lines (statements, idle warehouse
    time, job runs, other compute), so every billed DBU is in some row.
-#}
{{
    config(
        materialized='incremental',
        unique_key=['platform', 'cost_date', 'product', 'currency'],
        incremental_strategy=dbt_pipeline_costs.incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}
{#- Incremental by day: every day with a query loaded since this model's own watermark (minus
    the lookback) is recomputed whole. -#}
{%- set reasons = ['not_dbt', 'dbt_without_node', 'unknown', 'idle', 'other_compute'] -%}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('last_created_at') -%}
{%- set bigquery = var('dbt_pipeline_costs_bigquery_enabled') -%}
{%- set databricks = var('dbt_pipeline_costs_databricks_enabled') %}

with

{% if bigquery and is_incremental() %}
changed_days as (
    select distinct
        query_costs.platform,
        query_costs.cost_date
    from {{ ref('query_costs') }} as query_costs
    where query_costs.platform = 'bigquery' and query_costs.created_at >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
),

{% endif %}
lines as (
    {%- if bigquery %}
    {#- A plain scan of query_costs (a CTE read twice would be materialised whole). A changed day's
        queries were created at most a day plus the 6-hour job limit before the bound: two days
        back is a safe, prunable bound. -#}
    select
        query_costs.platform,
        query_costs.cost_date,
        query_costs.pricing_model as product,
        query_costs.currency,
        query_costs.attribution,
        1 as query_unit,
        cast(null as {{ dbt.type_string() }}) as statement_id,
        query_costs.cost,
        cast(0 as {{ dbt_pipeline_costs.usage_quantity_type() }}) as unpriced_usage_quantity,
        query_costs.created_at
    from {{ ref('query_costs') }} as query_costs
    {%- if is_incremental() %}
    inner join changed_days
        on query_costs.platform = changed_days.platform and query_costs.cost_date = changed_days.cost_date
    {%- endif %}
    {%- set bigquery_bound = lower_bound - modules.datetime.timedelta(days=2) %}
    where
        query_costs.platform = 'bigquery'
        and query_costs.created_at >= {{ dbt_pipeline_costs.timestamp_literal(bigquery_bound) }}
    {%- endif %}
    {%- if bigquery and databricks %}
    union all
    {%- endif %}
    {%- if databricks %}
    {#- Databricks billing arrives up to a day late: the days from the lookback bound on are
        recomputed whole from the cost lines. #}
    select
        cost_lines.platform,
        cost_lines.cost_date,
        cost_lines.product,
        cost_lines.currency,
        cost_lines.attribution,
        0 as query_unit,
        {#- A statement has a line per hour: counted once per day and product. #}
        case when cost_lines.line_type = 'statement' then cost_lines.query_id end as statement_id,
        cost_lines.cost,
        cost_lines.unpriced_usage_quantity,
        cost_lines.created_at
    from {{ ref('int_databricks_cost_lines') }} as cost_lines
    {%- if is_incremental() %}
    where cost_lines.cost_date >= {{ dbt_pipeline_costs.date_literal(lower_bound - modules.datetime.timedelta(days=1)) }}
    {%- endif %}
    {%- endif %}
),

final as (
    select
        lines.platform,
        lines.cost_date,
        lines.product,
        lines.currency,
        sum(lines.cost) as billed_cost,
        sum(case when lines.attribution = 'attributed' then lines.cost else {{ dbt_pipeline_costs.money(0) }} end)
            as attributed_cost,
        sum(case when lines.attribution <> 'attributed' then lines.cost else {{ dbt_pipeline_costs.money(0) }} end)
            as unattributed_cost,
        {%- for reason in reasons %}
        sum(case when lines.attribution = '{{ reason }}' then lines.cost else {{ dbt_pipeline_costs.money(0) }} end)
            as unattributed_{{ reason }}_cost,
        {%- endfor %}
        sum(lines.unpriced_usage_quantity) as unpriced_usage_quantity,
        cast(sum(lines.query_unit) + count(distinct lines.statement_id) as {{ dbt.type_bigint() }}) as query_count,
        cast(
            sum(case when lines.attribution = 'attributed' then lines.query_unit else 0 end)
            + count(distinct case when lines.attribution = 'attributed' then lines.statement_id end)
            as {{ dbt.type_bigint() }}
        ) as attributed_query_count,
        max(lines.created_at) as last_created_at
    from lines
    group by lines.platform, lines.cost_date, lines.product, lines.currency
)

select * from final
