{#-
    One row per dbt invocation uploaded by upload_run_results() (docs/cost-rules.md section 7).
    An invocation uploaded twice counts once: the latest upload wins.
-#}

with

invocations as (
    select * from {{ ref('dbt_invocations') }}
    where invocation_id is not null
),

ranked as (
    select
        invocations.*,
        row_number() over (
            partition by invocations.invocation_id
            order by invocations.run_ended_at desc, invocations.node_result_count desc
        ) as upload_rank
    from invocations
),

final as (
    select {{ dbt_pipeline_costs.star_except('ranked', ['upload_rank']) }}
    from ranked
    where ranked.upload_rank = 1
)

select * from final
