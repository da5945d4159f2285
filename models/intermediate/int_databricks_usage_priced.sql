{{ config(enabled=var('dbt_pipeline_costs_databricks_enabled')) }}
{#-
    Every Databricks usage record with its unit price and cost in the output currency
    (docs/cost-rules.md 10.2): the negotiated price of dbt_pipeline_costs_databricks_prices when
    the SKU has one, else the list price valid at the record's start. A record without a price
    costs 0 and is flagged (is_unpriced): it is never dropped.
-#}
{%- set negotiated = var('dbt_pipeline_costs_databricks_prices') or {} -%}

with

usage_records as (
    select * from {{ ref('stg_databricks__billing_usage') }}
),

list_prices as (
    select * from {{ ref('stg_databricks__list_prices') }}
),

with_list_price as (
    {#- Should two price periods overlap, the one that started last wins. -#}
    select
        usage_records.*,
        list_prices.unit_price as list_unit_price,
        list_prices.currency_code as list_currency_code,
        row_number() over (
            partition by usage_records.record_id
            order by list_prices.price_started_at desc nulls last
        ) as price_rank
    from usage_records
    left join list_prices
        on
            usage_records.sku_name = list_prices.sku_name
            and usage_records.cloud = list_prices.cloud
            and usage_records.usage_unit = list_prices.usage_unit
            and usage_records.usage_started_at >= list_prices.price_started_at
            and (usage_records.usage_started_at < list_prices.price_ended_at or list_prices.price_ended_at is null)
),

priced as (
    select
        with_list_price.*,
        {%- if negotiated %}
        case with_list_price.sku_name
            {%- for sku, price in negotiated.items() %}
            {%- set scaled = dbt_pipeline_costs._scaled_integer(price, 'dbt_pipeline_costs_databricks_prices.' ~ sku, 10) %}
            when '{{ dbt.escape_single_quotes(sku | string) }}'
                then cast({{ scaled // 10 ** 10 }}.{{ '%010d' % (scaled % 10 ** 10) }} as decimal(20, 10))
            {%- endfor %}
        end
        {%- else %}
        cast(null as decimal(20, 10))
        {%- endif %} as negotiated_unit_price
    from with_list_price
    where with_list_price.price_rank = 1
),

resolved as (
    select
        priced.*,
        case
            when priced.negotiated_unit_price is not null then 'negotiated'
            when priced.list_unit_price is not null then 'list'
        end as price_source,
        coalesce(priced.negotiated_unit_price, priced.list_unit_price) as unit_price,
        case
            when priced.negotiated_unit_price is not null then 'USD'
            else priced.list_currency_code
        end as price_currency
    from priced
),

final as (
    select
        resolved.record_id,
        resolved.workspace_id,
        resolved.cloud,
        resolved.sku_name,
        resolved.usage_unit,
        resolved.usage_started_at,
        resolved.usage_ended_at,
        resolved.usage_date,
        resolved.usage_quantity,
        resolved.record_type,
        resolved.product,
        resolved.compute_kind,
        resolved.compute_id,
        resolved.warehouse_id,
        resolved.job_run_id,
        resolved.tagged_invocation_id,
        resolved.price_source,
        resolved.unit_price,
        resolved.price_currency,
        {#- NULL when there is no price or no rate for its currency. #}
        {{ dbt_pipeline_costs.databricks_usage_cost(
            'resolved.usage_quantity', 'resolved.unit_price', 'resolved.price_currency'
        ) }} is null as is_unpriced,
        coalesce(
            {{ dbt_pipeline_costs.databricks_usage_cost(
                'resolved.usage_quantity', 'resolved.unit_price', 'resolved.price_currency'
            ) }},
            {{ dbt_pipeline_costs.money('0') }}
        ) as cost,
        '{{ dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) }}' as currency
    from resolved
)

select * from final
