{#
    as_of_timestamp() -> SQL for the moment the reuse and SAO marts measure from: var
    dbt_pipeline_costs_as_of (an ISO-8601 timestamp, UTC when it has no offset) as a literal, or the
    build's own run_started_at when the var is null. A literal, never current_timestamp, so a model
    is one consistent snapshot.
#}
{% macro as_of_timestamp() -%}
    {%- set value = var('dbt_pipeline_costs_as_of', none) -%}
    {%- if value is none or value == '' -%}
        {%- set moment = run_started_at.astimezone(modules.pytz.utc).replace(tzinfo=none) -%}
    {%- else -%}
        {%- set text = value | string -%}
        {%- set moment = none -%}
        {%- if modules.re.match('^\\d{4}-\\d{2}-\\d{2}([ T]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,6})?)?)?(Z|[+-]\\d{2}:?\\d{2})?$', text) -%}
            {%- set moment = modules.datetime.datetime.fromisoformat(text | replace('Z', '+00:00')) -%}
        {%- endif -%}
        {%- if moment is none -%}
            {{ exceptions.raise_compiler_error(
                "dbt_pipeline_costs: dbt_pipeline_costs_as_of must be an ISO-8601 timestamp such as "
                ~ "'2026-11-20T00:00:00Z'; got '" ~ text ~ "'") }}
        {%- endif -%}
        {%- if moment.tzinfo is not none -%}
            {%- set moment = moment.astimezone(modules.pytz.utc).replace(tzinfo=none) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(dbt_pipeline_costs.timestamp_literal(moment)) }}
{%- endmacro %}

{#- sao_window_start() -> SQL for as_of minus dbt_pipeline_costs_sao_window_days (the window's inclusive start). -#}
{% macro sao_window_start() -%}
    {%- set days = dbt_pipeline_costs.number_var('dbt_pipeline_costs_sao_window_days', minimum=1, whole=true) -%}
    {{ return(dbt.dateadd('day', -days, dbt_pipeline_costs.as_of_timestamp())) }}
{%- endmacro %}
