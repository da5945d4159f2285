{#-
    One row per pipeline run x dbt node (or '(no node)' for the run's queries without one), shaped
    for the run breakdown and run-vs-run comparison: the costed nodes of the run's invocations (what
    model_costs and pipeline_cost_history are built from, the run's queries without a node
    included), with the node's name and file and the run's key and date, so the rows of a run add
    up to that run's total_cost in pipeline_cost_history.
-#}

with

invocation_nodes as (
    select * from {{ ref('int_invocation_nodes_costed') }}
),

nodes as (
    select * from {{ ref('stg_dbt__nodes') }}
),

runs as (
    select * from {{ ref('dashboard_pipeline_runs') }}
),

per_run as (
    select
        invocation_nodes.pipeline_id,
        invocation_nodes.pipeline_run_id,
        coalesce(invocation_nodes.node_id, '(no node)') as node_id,
        invocation_nodes.currency,
        sum(invocation_nodes.cost) as cost,
        sum(invocation_nodes.query_count) as query_count,
        cast(sum(invocation_nodes.bytes_billed) as bigint) as bytes_billed,
        count(*) as build_count
    from invocation_nodes
    group by
        invocation_nodes.pipeline_id,
        invocation_nodes.pipeline_run_id,
        coalesce(invocation_nodes.node_id, '(no node)'),
        invocation_nodes.currency
),

final as (
    select
        per_run.pipeline_id,
        per_run.pipeline_run_id,
        runs.run_key,
        runs.run_started_at,
        runs.run_date,
        per_run.node_id,
        coalesce(nodes.name, per_run.node_id) as model_name,
        nodes.original_file_path,
        per_run.cost,
        per_run.currency,
        per_run.query_count,
        per_run.bytes_billed,
        per_run.build_count
    from per_run
    inner join runs
        on
            per_run.pipeline_id = runs.pipeline_id
            and per_run.pipeline_run_id = runs.pipeline_run_id
    left join nodes on per_run.node_id = nodes.node_id
)

select * from final
