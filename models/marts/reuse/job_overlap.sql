{#-
    One row per target x model built by two or more jobs in the window (CI jobs left out): how
    often, by which jobs, and what the builds by jobs other than its main one cost
    (docs/cost-rules.md section 9).
-#}

with

builds as (
    select * from {{ ref('int_model_results_in_window') }}
    where status_class = 'built' and coalesce(job_type, 'other') <> 'ci'
),

job_builds as (
    select
        builds.target_key as target_name,
        builds.node_id,
        builds.pipeline_id,
        count(*) as build_count,
        sum(builds.build_cost) as cost
    from builds
    group by builds.target_key, builds.node_id, builds.pipeline_id
),

ranked as (
    select
        job_builds.*,
        count(*) over (partition by job_builds.target_name, job_builds.node_id) as job_count,
        row_number() over (
            partition by job_builds.target_name, job_builds.node_id
            order by job_builds.build_count desc, job_builds.pipeline_id asc
        ) as job_rank
    from job_builds
),

final as (
    select
        ranked.target_name,
        ranked.node_id,
        min(ranked.job_count) as job_count,
        cast(sum(ranked.build_count) as {{ dbt.type_bigint() }}) as build_count,
        {{ dbt_pipeline_costs.sorted_string_agg('ranked.pipeline_id', ', ') }} as job_ids,
        sum(ranked.cost) as total_cost,
        '{{ dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) }}' as currency,
        min(case when ranked.job_rank = 1 then ranked.pipeline_id end) as primary_pipeline_id,
        cast(sum(case when ranked.job_rank > 1 then ranked.build_count else 0 end) as {{ dbt.type_bigint() }})
            as redundant_build_count,
        sum(case when ranked.job_rank > 1 then ranked.cost else {{ dbt_pipeline_costs.money('0') }} end)
            as redundant_cost
    from ranked
    where ranked.job_count > 1
    group by ranked.target_name, ranked.node_id
)

select * from final
