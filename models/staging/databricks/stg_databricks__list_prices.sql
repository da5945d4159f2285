{{ config(enabled=var('dbt_pipeline_costs_databricks_enabled')) }}
{#-
    One row per SKU x cloud x usage unit x price period of system.billing.list_prices, with the
    price the package charges: pricing.effective_list.default, else pricing.default
    (docs/cost-rules.md 10.2). price_ended_at NULL = the current price.
-#}

with

source_prices as (
    select * from {{ source('databricks_system', 'list_prices') }}
),

final as (
    select
        source_prices.sku_name,
        source_prices.cloud,
        source_prices.usage_unit,
        upper(source_prices.currency_code) as currency_code,
        source_prices.price_start_time as price_started_at,
        source_prices.price_end_time as price_ended_at,
        cast(coalesce(
            {{ dbt_pipeline_costs.struct_field('source_prices.pricing.effective_list', 'default') }},
            {{ dbt_pipeline_costs.struct_field('source_prices.pricing', 'default') }}
        ) as decimal(38, 18)) as unit_price
    from source_prices
)

select * from final
