{{ config(materialized='table') }}
{#-
    Every node result with its invocation's context: the job (pipeline) it ran in, the target, the
    job type and the time it counts at (docs/cost-rules.md section 9). The one place the SAO marts
    and the second attribution path read run results from. A table, not ephemeral: seven models
    read it, and the join and window below would otherwise run once for each.
-#}

with

results as (
    select * from {{ ref('stg_dbt__node_results') }}
),

invocations as (
    select * from {{ ref('stg_dbt__invocations') }}
),

joined as (
    select
        {#- Only what the marts read: the messages and JSON configs stay in staging (a narrow table
            is several times cheaper to write every build). #}
        results.invocation_id,
        results.node_id,
        results.resource_type,
        results.package_name,
        results.name,
        results.folder,
        results.first_tag,
        results.status,
        results.status_class,
        results.thread_id,
        results.compile_started_at,
        results.execute_started_at,
        results.execute_completed_at,
        results.execution_time_s,
        results.rows_affected,
        results.adapter_job_id,
        results.adapter_project_id,
        results.adapter_query_id,
        results.adapter_job_run_id,
        results.has_freshness_config,
        results.build_after_count,
        results.build_after_period,
        results.build_after_s,
        results.state_config is not null as has_state_config,
        invocations.invocation_id is not null as has_invocation,
        invocations.project_name,
        invocations.adapter_type,
        invocations.target_name,
        invocations.command,
        invocations.job_type,
        invocations.elapsed_s as invocation_elapsed_s,
        invocations.run_started_at as invocation_started_at,
        invocations.orchestrator,
        coalesce(invocations.pipeline_id, '(unknown pipeline)') as pipeline_id,
        coalesce(invocations.pipeline_run_id, results.invocation_id) as pipeline_run_id,
        invocations.pipeline_task_id,
        invocations.run_reason,
        coalesce(
            invocations.run_started_at,
            min(results.execute_started_at) over (partition by results.invocation_id),
            min(results.compile_started_at) over (partition by results.invocation_id)
        ) as result_time
    from results
    left join invocations on results.invocation_id = invocations.invocation_id
),

final as (
    select * from joined
)

select * from final
