{#-
    Every node result with its invocation's context: the job (pipeline) it ran in, the target, the
    job type and the time it counts at (docs/cost-rules.md section 9). The one place the SAO marts
    and the second attribution path read run results from.
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
        results.*,
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
