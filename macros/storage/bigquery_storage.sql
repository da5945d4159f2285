{#
    BigQuery storage pricing (docs/cost-rules.md section 11).
    bigquery_storage_prices()  -> {active_logical, long_term_logical, active_physical, long_term_physical}:
                                  each price of dbt_pipeline_costs_bigquery_storage_prices (USD per
                                  GiB-month) as an integer of 10^-18 units of the output currency
                                  (compile time, exact; scaled_price).
    bigquery_storage_cost(bytes, price)
                               -> bytes x price / 2^30 as money (price: an entry of the above).
    bigquery_storage_billing_model(project_id, dataset_id)
                               -> SQL: 'PHYSICAL' for a dataset listed in
                                  dbt_pipeline_costs_bigquery_physical_billing_datasets, else 'LOGICAL'.
#}
{% macro bigquery_storage_prices() -%}
    {%- set name = 'dbt_pipeline_costs_bigquery_storage_prices' -%}
    {%- set prices = var(name) -%}
    {%- set keys = ['active_logical', 'long_term_logical', 'active_physical', 'long_term_physical'] -%}
    {%- if prices is not mapping or keys | reject('in', prices) | list -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: " ~ name ~ " must be a mapping with the keys " ~ keys | join(', ')
            ~ " (USD per GiB-month); got '" ~ prices ~ "'") }}
    {%- endif -%}
    {%- set scaled = {} -%}
    {%- for key in keys -%}
        {%- do scaled.update({key: dbt_pipeline_costs.scaled_price(prices[key], name ~ '.' ~ key)}) -%}
    {%- endfor -%}
    {{ return(scaled) }}
{%- endmacro %}

{% macro bigquery_storage_cost(bytes, price) -%}
    {{ dbt_pipeline_costs.price_quantity(bytes, price, 1073741824) }}
{%- endmacro %}

{% macro bigquery_storage_billing_model(project_id, dataset_id) -%}
    {%- set name = 'dbt_pipeline_costs_bigquery_physical_billing_datasets' -%}
    {%- set entries = var(name) -%}
    {%- if entries is string or entries is mapping or entries is not iterable -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: " ~ name ~ " must be a list of datasets ('dataset' or 'project.dataset'); got '"
            ~ entries ~ "'") }}
    {%- endif -%}
    {%- set conditions = [] -%}
    {%- for entry in entries -%}
        {%- set parts = (entry | string).split('.') -%}
        {%- if entry is not string or parts | length > 2 or '' in parts -%}
            {{ exceptions.raise_compiler_error(
                "dbt_pipeline_costs: " ~ name ~ " entries are 'dataset' or 'project.dataset'; got '" ~ entry ~ "'") }}
        {%- endif -%}
        {%- if parts | length == 1 -%}
            {%- do conditions.append(dataset_id ~ " = '" ~ dbt.escape_single_quotes(parts[0]) ~ "'") -%}
        {%- else -%}
            {%- do conditions.append(
                "(" ~ project_id ~ " = '" ~ dbt.escape_single_quotes(parts[0]) ~ "' and "
                ~ dataset_id ~ " = '" ~ dbt.escape_single_quotes(parts[1]) ~ "')") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if conditions -%}
        case when {{ conditions | join(' or ') }} then 'PHYSICAL' else 'LOGICAL' end
    {%- else -%}
        'LOGICAL'
    {%- endif -%}
{%- endmacro %}
