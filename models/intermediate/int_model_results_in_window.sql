{#-
    The model results of the SAO window ([as_of - dbt_pipeline_costs_sao_window_days, as_of) by the
    invocation's time), each with what building it cost: the one place the window and a build's cost
    (docs/cost-rules.md section 9) are defined for sao_opportunities, job_overlap and reuse_savings.
-#}

with

results as (
    select * from {{ ref('int_dbt_node_results') }}
    where
        resource_type = 'model'
        and result_time >= {{ dbt_pipeline_costs.sao_window_start() }}
        and result_time < {{ dbt_pipeline_costs.as_of_timestamp() }}
),

invocation_nodes as (
    select * from {{ ref('int_invocation_nodes_costed') }}
    where node_id is not null
),

final as (
    select
        results.*,
        coalesce(results.target_name, '(unknown target)') as target_key,
        coalesce(invocation_nodes.cost, {{ dbt_pipeline_costs.money('0') }}) as build_cost
    from results
    left join invocation_nodes
        on
            results.invocation_id = invocation_nodes.invocation_id
            and results.node_id = invocation_nodes.node_id
)

select * from final
