{{ config(enabled=var('dbt_pipeline_costs_databricks_enabled')) }}
{#-
    One row per finished Databricks statement in the shape of query_costs: its cost is the sum of
    its warehouse-hour shares (int_databricks_cost_lines). A statement on other compute (a cluster,
    serverless jobs or notebooks) costs 0 here, pricing_model 'not_priced': its compute is billed to
    the job run or cluster. has_missing_usage: part of its run falls in hours not billed yet.
-#}

with

statements as (
    select * from {{ ref('int_databricks_statements') }}
),

statement_lines as (
    select
        lines.query_id,
        sum(lines.cost) as cost,
        sum(lines.usage_quantity) as usage_quantity,
        sum(lines.overlap_ms) as covered_ms,
        count(*) as hour_count
    from {{ ref('int_databricks_cost_lines') }} as lines
    where lines.line_type = 'statement'
    group by lines.query_id
),

final as (
    select
        'databricks' as platform,
        statements.workspace_id as project_id,
        coalesce(statements.warehouse_id, statements.cluster_id, lower(statements.compute_type), 'unknown') as location,
        statements.statement_id as query_id,
        cast(null as {{ dbt.type_string() }}) as parent_job_id,
        statements.compute_type as job_type,
        statements.statement_type,
        statements.executed_by as user_email,
        statements.started_at as created_at,
        statements.started_at,
        statements.ended_at,
        {{ dbt_pipeline_costs.date_in_timezone('statements.ended_at', 'UTC') }} as cost_date,
        statements.duration_ms,
        {%- for column in dbt_pipeline_costs.query_comment_columns().values() %}
        statements.{{ column }},
        {%- endfor %}
        statements.invocation_id is not null as is_dbt,
        statements.attribution,
        statements.attribution_source,
        case when statements.warehouse_id is not null then 'warehouse_share' else 'not_priced' end as pricing_model,
        cast(null as {{ dbt.type_string() }}) as reservation_id,
        cast(null as {{ dbt.type_string() }}) as edition,
        coalesce(statements.from_result_cache, false) as is_cache_hit,
        true as is_billable,
        statements.error_reason,
        statements.warehouse_id is not null and (
            statement_lines.query_id is null
            or (statements.duration_ms > 0 and statement_lines.covered_ms < statements.duration_ms)
        ) as has_missing_usage,
        statements.read_bytes as bytes_processed,
        cast(null as {{ dbt.type_bigint() }}) as bytes_billed,
        cast(null as {{ dbt.type_bigint() }}) as slot_ms,
        cast(null as {{ dbt.type_string() }}) as destination_project_id,
        cast(null as {{ dbt.type_string() }}) as destination_dataset_id,
        cast(null as {{ dbt.type_string() }}) as destination_table_id,
        cast(null as {{ dbt.type_string() }}) as query_hash,
        coalesce(statement_lines.cost, {{ dbt_pipeline_costs.money('0') }}) as cost,
        '{{ dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) }}' as currency,
        statements.work_ms,
        coalesce(
            statement_lines.usage_quantity, cast(0 as {{ dbt_pipeline_costs.usage_quantity_type() }})
        ) as usage_quantity
    from statements
    left join statement_lines on statements.statement_id = statement_lines.query_id
)

select * from final
