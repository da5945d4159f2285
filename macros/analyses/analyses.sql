{#-
    Shared by the analyses (analyses/*.sql), which a user compiles with --vars.
    analysis_text_var(name) -> the var as text, or none when unset or empty.
    analysis_runs(pipeline_id) -> a select of pipeline_cost_history (one pipeline, or all when
        none) with recency: 1 for each pipeline's latest run, 2 for the run before, ...
-#}
{% macro analysis_text_var(name) -%}
    {%- set value = var(name, none) -%}
    {{ return(none if value in [none, ''] else value | string) }}
{%- endmacro %}

{% macro analysis_runs(pipeline_id) -%}
    select
        history.*,
        row_number() over (
            partition by history.pipeline_id
            order by history.run_started_at desc, history.pipeline_run_id desc
        ) as recency
    from {{ ref('pipeline_cost_history') }} as history
    {%- if pipeline_id %}
    where history.pipeline_id = '{{ dbt_pipeline_costs.escape_string_literal(pipeline_id) }}'
    {%- endif %}
{%- endmacro %}
