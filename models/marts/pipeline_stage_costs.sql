{#-
    One row per pipeline run x stage. The stage of a node is chosen by dbt_pipeline_costs_stage_by:
    folder (directory of the node's file), tag (its first tag) or resource_type — taken from the
    node's result in that invocation when it was uploaded (the project as it was then), else from
    the current graph (docs/cost-rules.md sections 6 and 8).
-#}
{%- set stage_by = var('dbt_pipeline_costs_stage_by') -%}
{%- set stage_expressions = {
    'folder': "{relation}.folder",
    'tag': "coalesce({relation}.first_tag, '(untagged)')",
    'resource_type': "{relation}.resource_type",
} -%}
{%- if stage_by not in stage_expressions -%}
    {{ exceptions.raise_compiler_error(
        "dbt_pipeline_costs: dbt_pipeline_costs_stage_by must be one of folder, tag, resource_type; got '" ~ stage_by ~ "'") }}
{%- endif %}

with

invocation_nodes as (
    select * from {{ ref('int_invocation_nodes_costed') }}
),

nodes as (
    select * from {{ ref('stg_dbt__nodes') }}
),

results as (
    select * from {{ ref('int_dbt_node_results') }}
),

staged as (
    select
        invocation_nodes.*,
        case
            when invocation_nodes.node_id is null then '(no node)'
            when results.node_id is not null then {{ stage_expressions[stage_by].replace('{relation}', 'results') }}
            when nodes.node_id is not null then {{ stage_expressions[stage_by].replace('{relation}', 'nodes') }}
            else '(unknown node)'
        end as stage
    from invocation_nodes
    left join nodes on invocation_nodes.node_id = nodes.node_id
    left join results
        on
            invocation_nodes.invocation_id = results.invocation_id
            and invocation_nodes.node_id = results.node_id
),

final as (
    select
        staged.pipeline_id,
        staged.pipeline_run_id,
        staged.stage,
        '{{ stage_by }}' as stage_by,
        sum(staged.cost) as cost,
        staged.currency,
        sum(staged.query_count) as query_count,
        count(distinct staged.node_id) as model_count,
        sum(staged.bytes_billed) as bytes_billed,
        sum(staged.slot_ms) as slot_ms,
        min(staged.first_started_at) as first_started_at,
        max(staged.last_ended_at) as last_ended_at
    from staged
    group by staged.pipeline_id, staged.pipeline_run_id, staged.stage, staged.currency
)

select * from final
