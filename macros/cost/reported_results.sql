{#
    The second attribution path (docs/cost-rules.md sections 8 and 10.3): a warehouse query that a
    node result reported in its adapter_response takes that result's dbt context.

    result_context_columns() -> {query context column (query_comment_columns()): the
        int_dbt_node_results column it comes from}.
    latest_reported_results(id_column) -> a select of int_dbt_node_results with one row per reported
        id (adapter_job_id on BigQuery, adapter_query_id on Databricks): should an id be reported
        twice, the latest execute_completed_at wins (NULL earliest), then the smallest
        (invocation_id, node_id).
#}
{% macro result_context_columns() -%}
    {{ return({
        'invocation_id': 'invocation_id', 'node_id': 'node_id', 'resource_type': 'resource_type',
        'node_package': 'package_name', 'dbt_project': 'project_name', 'dbt_target': 'target_name',
        'dbt_command': 'command', 'run_started_at': 'invocation_started_at', 'orchestrator': 'orchestrator',
        'pipeline_id': 'pipeline_id', 'pipeline_run_id': 'pipeline_run_id', 'pipeline_task_id': 'pipeline_task_id',
        'run_reason': 'run_reason',
    }) }}
{%- endmacro %}

{% macro latest_reported_results(id_column) -%}
    select * from (
        select
            results.*,
            row_number() over (
                partition by results.{{ id_column }}
                order by results.execute_completed_at desc nulls last, results.invocation_id asc, results.node_id asc
            ) as report_rank
        from {{ ref('int_dbt_node_results') }} as results
        where results.{{ id_column }} is not null
    ) as ranked
    where report_rank = 1
{%- endmacro %}
