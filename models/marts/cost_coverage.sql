{#-
    One row per platform x cost date: what was billed, how much of it dbt explains, and why the
    rest is not attributed. billed = attributed + the three unattributed parts, exactly.
-#}
{{
    config(
        materialized='incremental',
        unique_key=['platform', 'cost_date', 'currency'],
        incremental_strategy=dbt_pipeline_costs.incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}
{#- Incremental by day: every day with a query loaded since this model's own watermark (minus
    the lookback) is recomputed whole. -#}
{%- set reasons = ['not_dbt', 'dbt_without_node', 'unknown'] -%}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('last_created_at') %}

with

{% if is_incremental() %}
changed_days as (
    select distinct
        query_costs.platform,
        query_costs.cost_date
    from {{ ref('query_costs') }} as query_costs
    where query_costs.created_at >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
),

{% endif %}
queries as (
    {#- A plain scan of query_costs (a CTE read twice would be materialised whole). A changed day's
        queries were created at most a day plus the 6-hour job limit before the bound: two days
        back is a safe, prunable bound. -#}
    select query_costs.*
    from {{ ref('query_costs') }} as query_costs
    {%- if is_incremental() %}
    inner join changed_days
        on query_costs.platform = changed_days.platform and query_costs.cost_date = changed_days.cost_date
    where query_costs.created_at >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound - modules.datetime.timedelta(days=2)) }}
    {%- endif %}
),

final as (
    select
        queries.platform,
        queries.cost_date,
        queries.currency,
        sum(queries.cost) as billed_cost,
        sum(case when queries.attribution = 'attributed' then queries.cost else {{ dbt_pipeline_costs.money(0) }} end)
            as attributed_cost,
        sum(case when queries.attribution <> 'attributed' then queries.cost else {{ dbt_pipeline_costs.money(0) }} end)
            as unattributed_cost,
        {%- for reason in reasons %}
        sum(case when queries.attribution = '{{ reason }}' then queries.cost else {{ dbt_pipeline_costs.money(0) }} end)
            as unattributed_{{ reason }}_cost,
        {%- endfor %}
        count(*) as query_count,
        count(case when queries.attribution = 'attributed' then 1 end) as attributed_query_count,
        max(queries.created_at) as last_created_at
    from queries
    group by queries.platform, queries.cost_date, queries.currency
)

select * from final
