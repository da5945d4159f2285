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

all_queries as (
    select * from {{ ref('query_costs') }}
),

{% if is_incremental() %}
changed_days as (
    select distinct
        all_queries.platform,
        all_queries.cost_date
    from all_queries
    where all_queries.created_at >= {{ dbt_pipeline_costs.timestamp_literal(lower_bound) }}
),

{% endif %}
queries as (
    select all_queries.*
    from all_queries
    {%- if is_incremental() %}
    inner join changed_days
        on all_queries.platform = changed_days.platform and all_queries.cost_date = changed_days.cost_date
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
