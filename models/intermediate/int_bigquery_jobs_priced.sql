{{ config(enabled=var('dbt_pipeline_costs_bigquery_enabled')) }}
{#-
    Every finished, billable-unit BigQuery job with its price and attribution class
    (docs/cost-rules.md sections 2, 3 and 5). SCRIPT parents are left out: their children carry
    the cost. Jobs not yet DONE are priced on a later run.
-#}

{%- set context_columns = dbt_pipeline_costs.query_comment_columns().values() | list -%}

with

jobs as (
    select * from {{ ref('stg_bigquery__jobs') }}
    where state = 'DONE' and not is_script_parent
),

script_parents as (
    select * from {{ ref('stg_bigquery__jobs') }}
    where is_script_parent
),

inherited as (
    {#- Script children carry no labels or comment: they take their parent's dbt context. -#}
    select
        {{ dbt_pipeline_costs.star_except('jobs', context_columns + ['attribution_source']) }},
        jobs.is_script_child and script_parents.job_id is null as is_parent_missing,
        case
            when not jobs.is_script_child then jobs.attribution_source
            when script_parents.invocation_id is not null then 'script_parent'
            else 'none'
        end as attribution_source,
        {%- for column in context_columns %}
        case when jobs.is_script_child then script_parents.{{ column }} else jobs.{{ column }} end as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from jobs
    left join script_parents
        on
            jobs.parent_job_id = script_parents.job_id
            and jobs.project_id = script_parents.project_id
            and jobs.location = script_parents.location
),

classified as (
    select
        inherited.*,
        inherited.reservation_id is not null as is_capacity,
        inherited.error_reason is null or inherited.error_reason = 'stopped' as is_billable,
        case
            when inherited.is_parent_missing then 'unknown'
            when inherited.invocation_id is null then 'not_dbt'
            when inherited.node_id is null then 'dbt_without_node'
            else 'attributed'
        end as attribution
    from inherited
),

final as (
    select
        'bigquery' as platform,
        classified.project_id,
        classified.location,
        classified.job_id as query_id,
        classified.parent_job_id,
        classified.job_type,
        classified.statement_type,
        classified.user_email,
        classified.created_at,
        classified.started_at,
        classified.ended_at,
        {{ dbt_pipeline_costs.date_in_timezone(
            'classified.ended_at', var('dbt_pipeline_costs_bigquery_billing_timezone')
        ) }} as cost_date,
        {{ dbt_pipeline_costs.milliseconds_between('classified.started_at', 'classified.ended_at') }} as duration_ms,
        classified.invocation_id,
        classified.node_id,
        classified.resource_type,
        classified.node_package,
        classified.dbt_project,
        classified.dbt_target,
        classified.dbt_command,
        classified.run_started_at,
        classified.orchestrator,
        {#- A dbt job whose comment gave no pipeline (e.g. a comment other than the package's):
            pipeline "(unknown pipeline)", run = its invocation, as query_comment() does. -#}
        case
            when classified.invocation_id is not null then coalesce(classified.pipeline_id, '(unknown pipeline)')
        end as pipeline_id,
        case
            when classified.invocation_id is not null
                then coalesce(classified.pipeline_run_id, classified.invocation_id)
        end as pipeline_run_id,
        classified.pipeline_task_id,
        classified.run_reason,
        classified.invocation_id is not null as is_dbt,
        classified.attribution,
        classified.attribution_source,
        case when classified.is_capacity then 'capacity' else 'on_demand' end as pricing_model,
        classified.reservation_id,
        classified.edition,
        coalesce(classified.cache_hit, false) as is_cache_hit,
        classified.is_billable,
        classified.error_reason,
        classified.job_type = 'QUERY'
        and not coalesce(classified.cache_hit, false)
        and (
            (classified.is_capacity and classified.slot_ms is null)
            or (not classified.is_capacity and classified.is_billable and classified.bytes_billed is null)
        ) as has_missing_usage,
        classified.bytes_processed,
        classified.bytes_billed,
        classified.slot_ms,
        classified.destination_project_id,
        classified.destination_dataset_id,
        classified.destination_table_id,
        classified.query_hash,
        {{ dbt_pipeline_costs.bigquery_job_cost(
            reservation_id='classified.reservation_id',
            edition='classified.edition',
            slot_ms='classified.slot_ms',
            bytes_billed='classified.bytes_billed',
            cache_hit='classified.cache_hit',
            is_billable='classified.is_billable',
        ) }} as cost,
        '{{ dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) }}' as currency
    from classified
)

select * from final
