{#-
    One row per pipeline run x stage. The stage of a node is chosen by dbt_pipeline_costs_stage_by:
    folder (directory of the node's file), tag (its first tag) or resource_type.
-#}
{%- set stage_by = var('dbt_pipeline_costs_stage_by') -%}
{%- set stage_expressions = {
    'folder': "nodes.folder",
    'tag': "coalesce(nodes.first_tag, '(untagged)')",
    'resource_type': "nodes.resource_type",
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

staged as (
    select
        invocation_nodes.*,
        case
            when invocation_nodes.node_id is null then '(no node)'
            when nodes.node_id is null then '(unknown node)'
            else {{ stage_expressions[stage_by] }}
        end as stage
    from invocation_nodes
    left join nodes on invocation_nodes.node_id = nodes.node_id
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
