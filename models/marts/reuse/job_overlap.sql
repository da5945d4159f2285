{#-
    One row per target x model built by two or more jobs in the window (CI jobs left out): how
    often, by which jobs, and what the builds by jobs other than its main one cost
    (docs/cost-rules.md section 9).
-#}

with

results as (
    select * from {{ ref('int_dbt_node_results') }}
    where
        resource_type = 'model'
        and status_class = 'built'
        and coalesce(job_type, 'other') <> 'ci'
        and result_time >= {{ dbt_pipeline_costs.sao_window_start() }}
        and result_time < {{ dbt_pipeline_costs.as_of_timestamp() }}
),

model_costs as (
    select * from {{ ref('model_costs') }}
),

job_builds as (
    select
        coalesce(results.target_name, '(unknown target)') as target_name,
        results.node_id,
        results.pipeline_id,
        count(*) as build_count,
        sum(coalesce(model_costs.cost, {{ dbt_pipeline_costs.money('0') }})) as cost
    from results
    left join model_costs
        on
            results.invocation_id = model_costs.invocation_id
            and results.node_id = model_costs.node_id
    group by coalesce(results.target_name, '(unknown target)'), results.node_id, results.pipeline_id
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
        {{ dbt.listagg('ranked.pipeline_id', "', '", 'order by ranked.pipeline_id') }} as job_ids,
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
