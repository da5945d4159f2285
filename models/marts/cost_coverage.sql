{#-
    One row per platform x cost date: what was billed, how much of it dbt explains, and why the
    rest is not attributed. billed = attributed + the three unattributed parts, exactly.
-#}
{%- set reasons = ['not_dbt', 'dbt_without_node', 'unknown'] -%}

with

queries as (
    select * from {{ ref('query_costs') }}
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
        count(case when queries.attribution = 'attributed' then 1 end) as attributed_query_count
    from queries
    group by queries.platform, queries.cost_date, queries.currency
)

select * from final
