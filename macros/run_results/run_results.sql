{#-
    status_class(status) -> SQL text: what a dbt result's status means for cost and reuse
    (docs/cost-rules.md section 9): built (success, error, partial success - the node ran and its
    queries cost money), reused (state-aware orchestration skipped it), skipped, no_op, other.
    The one place this rule lives: stg_dbt__node_results stores it, marts that read a result's
    status from model_costs test it with the same macro.
-#}
{% macro status_class(status) -%}
    case
        when {{ status }} in ('success', 'error', 'partial success') then 'built'
        when {{ status }} = 'reused' then 'reused'
        when {{ status }} = 'skipped' then 'skipped'
        when {{ status }} = 'no-op' then 'no_op'
        else 'other'
    end
{%- endmacro %}

{#-
    rolling_runs_frame(previous_only=false) -> the window frame of "the last
    dbt_pipeline_costs_rolling_runs runs": ending at the current row, or (previous_only) the runs
    before it. The one place the var is read and checked for the rolling figures of
    pipeline_cost_history, model_reuse and the model_cost_history analysis.
-#}
{% macro rolling_runs_frame(previous_only=false) -%}
    {%- set runs = dbt_pipeline_costs.number_var('dbt_pipeline_costs_rolling_runs', minimum=1, whole=true) -%}
    {%- if previous_only -%}
        rows between {{ runs }} preceding and 1 preceding
    {%- else -%}
        rows between {{ runs - 1 }} preceding and current row
    {%- endif -%}
{%- endmacro %}
