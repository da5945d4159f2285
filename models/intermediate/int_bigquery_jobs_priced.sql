{{ config(enabled=var('dbt_pipeline_costs_bigquery_enabled')) }}
{#-
    Every finished, billable-unit BigQuery job with its price and attribution class
    (docs/cost-rules.md sections 2, 3 and 5). SCRIPT parents are left out: their children carry
    the cost. Jobs not yet DONE are priced on a later run.
-#}

{%- set context_columns = dbt_pipeline_costs.query_comment_columns().values() | list -%}
{#- Where each context column comes from when a node result's adapter_response names the job. -#}
{%- set result_columns = dbt_pipeline_costs.result_context_columns() -%}
{#- Second attribution path (rule 8): a job without a node from its comment takes the context of
    the node result whose adapter_response reported its job id (script children: their parent's). -#}
{%- set reported_by_result = "{jobs}.job_id = {results}.adapter_job_id"
    ~ " and {jobs}.attribution_source <> 'comment'"
    ~ " and ({results}.adapter_project_id is null or {results}.adapter_project_id = {jobs}.project_id)" %}

with

result_jobs as (
    {#- One node result per reported job id. #}
    {{ dbt_pipeline_costs.latest_reported_results('adapter_job_id') }}
),

script_parents as (
    select
        parents.job_id,
        parents.project_id,
        parents.location,
        {%- for column in context_columns %}
        case
            when results.adapter_job_id is not null then results.{{ result_columns[column] }}
            else parents.{{ column }}
        end as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref('stg_bigquery__jobs') }} as parents
    left join result_jobs as results
        on {{ reported_by_result.replace('{jobs}', 'parents').replace('{results}', 'results') }}
    where parents.is_script_parent
),

inherited as (
    {#- Script children carry no labels or comment: they take their parent's dbt context. -#}
    select
        {{ dbt_pipeline_costs.star_except('jobs', context_columns + ['attribution_source']) }},
        jobs.is_script_child and script_parents.job_id is null as is_parent_missing,
        case
            when jobs.is_script_child and script_parents.invocation_id is not null then 'script_parent'
            when jobs.is_script_child then 'none'
            when results.adapter_job_id is not null then 'adapter_response'
            else jobs.attribution_source
        end as attribution_source,
        {%- for column in context_columns %}
        case
            when jobs.is_script_child then script_parents.{{ column }}
            when results.adapter_job_id is not null then results.{{ result_columns[column] }}
            else jobs.{{ column }}
        end as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref('stg_bigquery__jobs') }} as jobs
    left join script_parents
        on
            jobs.parent_job_id = script_parents.job_id
            and jobs.project_id = script_parents.project_id
            and jobs.location = script_parents.location
    left join result_jobs as results
        on
            not jobs.is_script_child
            and {{ reported_by_result.replace('{jobs}', 'jobs').replace('{results}', 'results') }}
    where jobs.state = 'DONE' and not jobs.is_script_parent
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
