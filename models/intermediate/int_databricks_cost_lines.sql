{{
    config(
        materialized='incremental',
        unique_key=['cost_date'],
        incremental_strategy=dbt_pipeline_costs.replace_rows_strategy(),
        on_schema_change='append_new_columns',
        enabled=var('dbt_pipeline_costs_databricks_enabled'),
    )
}}
{#-
    Every Databricks cost as lines that add up to the bill (docs/cost-rules.md 10.4-10.6):
    - statement: a statement's share of a SQL warehouse-hour (work share of the hour's pool);
    - idle: what of a billed warehouse-hour no statement took (the whole hour when none ran; with
      dbt_pipeline_costs_databricks_idle = separate, the hour's time no statement was running);
    - job_run: a job run's cost per day and product, split over the linked dbt nodes by
      execution time (or one line for the run: dbt_without_node / not_dbt);
    - other_compute: every other usage record (DLT, interactive clusters, notebooks, ...).
    The lines of a warehouse-hour, of a job run's day and of a record sum to its billed cost exactly:
    shares are rounded to 12 decimals and the anchor line (largest weight) takes the remainder.
    Incremental by day: every day from this model's watermark minus the lookback (billing arrives up
    to a day late) is recomputed whole and replaces that day's lines; statements are read from two
    days before it, so one running into those days (Databricks stops a statement after 48 hours by
    default) takes its share of them.
-#}
{%- set idle_mode = var('dbt_pipeline_costs_databricks_idle') -%}
{%- if idle_mode not in ['proportional', 'separate'] -%}
    {{ exceptions.raise_compiler_error(
        "dbt_pipeline_costs: dbt_pipeline_costs_databricks_idle must be 'proportional' or 'separate', got '" ~ idle_mode ~ "'"
    ) }}
{%- endif -%}
{%- set hour_end = dbt.dateadd('hour', 1, 'warehouses.hour_started_at') -%}
{%- set lower_bound = dbt_pipeline_costs.incremental_lower_bound('created_at') -%}
{%- set first_day = lower_bound.replace(hour=0, minute=0, second=0, microsecond=0) -%}
{%- set first_statement_start = first_day - modules.datetime.timedelta(days=2) -%}
{%- set zero = dbt_pipeline_costs.money('0') -%}
{%- set quantity_zero = 'cast(0 as ' ~ dbt_pipeline_costs.usage_quantity_type() ~ ')' -%}

with

usage_records as (
    select * from {{ ref('int_databricks_usage_priced') }}
    where usage_date >= {{ dbt_pipeline_costs.date_literal(first_day) }}
),

node_results as (
    select * from {{ ref('int_dbt_node_results') }}
),

invocations as (
    select * from {{ ref('stg_dbt__invocations') }}
),

-- SQL warehouses: each billed warehouse-hour shared by the statements that ran in it (10.4)
warehouse_hours as (
    select
        usage_records.workspace_id,
        usage_records.warehouse_id,
        {{ dbt_pipeline_costs.hour_start('usage_records.usage_started_at') }} as hour_started_at,
        min(usage_records.usage_date) as cost_date,
        min(usage_records.product) as product,
        sum(usage_records.cost) as billed_cost,
        sum(usage_records.usage_quantity) as usage_quantity,
        sum(case when usage_records.is_unpriced then usage_records.usage_quantity else {{ quantity_zero }} end)
            as unpriced_usage_quantity
    from usage_records
    where usage_records.compute_kind = 'sql_warehouse'
    group by
        usage_records.workspace_id,
        usage_records.warehouse_id,
        {{ dbt_pipeline_costs.hour_start('usage_records.usage_started_at') }}
),

warehouse_statements as (
    select
        statements.*,
        {{ dbt_pipeline_costs.hour_start('statements.started_at') }} as start_hour
    from {{ ref('int_databricks_statements') }} as statements
    where
        statements.warehouse_id is not null
        and statements.started_at >= {{ dbt_pipeline_costs.timestamp_literal(first_statement_start) }}
),

statement_hours as (
    {#- A statement meets every billed hour its [start, end) overlaps; one of duration 0 meets
        the hour it started in. -#}
    select
        warehouse_statements.statement_id,
        warehouse_statements.started_at,
        warehouse_statements.invocation_id,
        warehouse_statements.node_id,
        warehouse_statements.resource_type,
        warehouse_statements.pipeline_id,
        warehouse_statements.pipeline_run_id,
        warehouse_statements.orchestrator,
        warehouse_statements.attribution,
        warehouses.workspace_id,
        warehouses.warehouse_id,
        warehouses.hour_started_at,
        {#- The statement's interval clipped to the hour. -#}
        case
            when warehouse_statements.started_at > warehouses.hour_started_at then warehouse_statements.started_at
            else warehouses.hour_started_at
        end as clipped_start,
        case
            when warehouse_statements.ended_at < {{ hour_end }} then warehouse_statements.ended_at
            else {{ hour_end }}
        end as clipped_end,
        warehouse_statements.work_ms,
        warehouse_statements.duration_ms
    from warehouse_statements
    inner join warehouse_hours as warehouses
        on
            warehouse_statements.workspace_id = warehouses.workspace_id
            and warehouse_statements.warehouse_id = warehouses.warehouse_id
            and (
                (
                    warehouse_statements.duration_ms > 0
                    and warehouse_statements.ended_at > warehouses.hour_started_at
                    and warehouse_statements.started_at < {{ hour_end }}
                )
                or (
                    warehouse_statements.duration_ms <= 0
                    and warehouse_statements.start_hour = warehouses.hour_started_at
                )
            )
),

overlapping as (
    select
        statement_hours.*,
        case
            when statement_hours.duration_ms > 0
                then {{ dbt_pipeline_costs.milliseconds_between(
                    'statement_hours.clipped_start', 'statement_hours.clipped_end'
                ) }}
            else 0
        end as overlap_ms
    from statement_hours
),

weighted as (
    select
        overlapping.*,
        case
            when overlapping.duration_ms > 0
                then
                    cast(overlapping.work_ms as {{ dbt_pipeline_costs.float_type() }})
                    * overlapping.overlap_ms / overlapping.duration_ms
            else cast(overlapping.work_ms as {{ dbt_pipeline_costs.float_type() }})
        end as weight,
        {#- Busy time: the part of this interval beyond every earlier-starting one (their union). -#}
        max(overlapping.clipped_end) over (
            partition by overlapping.workspace_id, overlapping.warehouse_id, overlapping.hour_started_at
            order by overlapping.clipped_start asc, overlapping.clipped_end asc, overlapping.statement_id asc
            rows between unbounded preceding and 1 preceding
        ) as earlier_end
    from overlapping
),

hour_totals as (
    select
        weighted.workspace_id,
        weighted.warehouse_id,
        weighted.hour_started_at,
        sum(weighted.weight) as total_weight,
        sum(
            case
                when weighted.earlier_end is null or weighted.clipped_start >= weighted.earlier_end
                    then {{ dbt_pipeline_costs.milliseconds_between('weighted.clipped_start', 'weighted.clipped_end') }}
                when weighted.clipped_end > weighted.earlier_end
                    then {{ dbt_pipeline_costs.milliseconds_between('weighted.earlier_end', 'weighted.clipped_end') }}
                else 0
            end
        ) as busy_ms
    from weighted
    group by weighted.workspace_id, weighted.warehouse_id, weighted.hour_started_at
),

hour_pools as (
    select
        warehouse_hours.*,
        hour_totals.total_weight,
        {#- separate: the statements take the busy part of the hour; proportional: all of it. #}
        {%- if idle_mode == 'separate' %}
        {%- set pool = dbt_pipeline_costs.allocated_share('warehouse_hours.billed_cost', 'hour_totals.busy_ms', 3600000) %}
        {%- else %}
        {%- set pool = 'warehouse_hours.billed_cost' %}
        {%- endif %}
        case when hour_totals.total_weight > 0 then {{ pool }} else {{ zero }} end as statement_pool
    from warehouse_hours
    left join hour_totals
        on
            warehouse_hours.workspace_id = hour_totals.workspace_id
            and warehouse_hours.warehouse_id = hour_totals.warehouse_id
            and warehouse_hours.hour_started_at = hour_totals.hour_started_at
),

statement_shares as (
    select
        weighted.*,
        hour_pools.cost_date,
        hour_pools.product,
        hour_pools.statement_pool,
        case
            when hour_pools.total_weight > 0
                then {{ dbt_pipeline_costs.allocated_share(
                    'hour_pools.usage_quantity', 'weighted.weight', 'hour_pools.total_weight'
                ) }}
            else {{ quantity_zero }}
        end as usage_quantity_share,
        case
            when hour_pools.total_weight > 0
                then {{ dbt_pipeline_costs.allocated_share(
                    'hour_pools.statement_pool', 'weighted.weight', 'hour_pools.total_weight'
                ) }}
            else {{ zero }}
        end as rounded_share,
        row_number() over (
            partition by weighted.workspace_id, weighted.warehouse_id, weighted.hour_started_at
            order by weighted.weight desc, weighted.statement_id asc
        ) as anchor_rank
    from weighted
    inner join hour_pools
        on
            weighted.workspace_id = hour_pools.workspace_id
            and weighted.warehouse_id = hour_pools.warehouse_id
            and weighted.hour_started_at = hour_pools.hour_started_at
),

statement_totals as (
    {#- The anchor takes the pool minus the other lines' rounded shares. #}
    select
        statement_shares.*,
        sum(statement_shares.rounded_share) over (
            partition by statement_shares.workspace_id, statement_shares.warehouse_id, statement_shares.hour_started_at
        ) as pool_rounded_total
    from statement_shares
),

statement_lines as (
    select
        'statement' as line_type,
        statement_totals.attribution,
        statement_totals.cost_date,
        statement_totals.hour_started_at,
        statement_totals.started_at as created_at,
        statement_totals.product,
        statement_totals.workspace_id,
        statement_totals.warehouse_id as compute_id,
        cast(null as {{ dbt.type_string() }}) as job_run_id,
        statement_totals.statement_id as query_id,
        statement_totals.overlap_ms,
        statement_totals.invocation_id,
        statement_totals.node_id,
        statement_totals.resource_type,
        statement_totals.pipeline_id,
        statement_totals.pipeline_run_id,
        statement_totals.orchestrator,
        cast(statement_totals.usage_quantity_share as {{ dbt_pipeline_costs.usage_quantity_type() }}) as usage_quantity,
        {{ quantity_zero }} as unpriced_usage_quantity,
        {{ dbt_pipeline_costs.anchored_share(
            'statement_totals.statement_pool', 'statement_totals.rounded_share',
            'statement_totals.pool_rounded_total', 'statement_totals.anchor_rank = 1'
        ) }} as cost
    from statement_totals
),

idle_lines as (
    {#- One line per billed warehouse-hour: what its statements did not take (0 when they took it all). -#}
    select
        'idle' as line_type,
        'idle' as attribution,
        hour_pools.cost_date,
        hour_pools.hour_started_at,
        hour_pools.hour_started_at as created_at,
        hour_pools.product,
        hour_pools.workspace_id,
        hour_pools.warehouse_id as compute_id,
        cast(null as {{ dbt.type_string() }}) as job_run_id,
        cast(null as {{ dbt.type_string() }}) as query_id,
        cast(null as {{ dbt.type_bigint() }}) as overlap_ms,
        cast(null as {{ dbt.type_string() }}) as invocation_id,
        cast(null as {{ dbt.type_string() }}) as node_id,
        cast(null as {{ dbt.type_string() }}) as resource_type,
        cast(null as {{ dbt.type_string() }}) as pipeline_id,
        cast(null as {{ dbt.type_string() }}) as pipeline_run_id,
        cast(null as {{ dbt.type_string() }}) as orchestrator,
        case
            when hour_pools.total_weight > 0 then {{ quantity_zero }}
            else hour_pools.usage_quantity
        end as usage_quantity,
        hour_pools.unpriced_usage_quantity,
        hour_pools.billed_cost - hour_pools.statement_pool as cost
    from hour_pools
),

-- Job runs: a run's cost per day and product, split over its dbt nodes by execution time (10.5)
job_usage as (
    select
        usage_records.workspace_id,
        usage_records.job_run_id,
        usage_records.usage_date as cost_date,
        usage_records.product,
        min(usage_records.usage_started_at) as created_at,
        sum(usage_records.cost) as billed_cost,
        sum(usage_records.usage_quantity) as usage_quantity,
        sum(case when usage_records.is_unpriced then usage_records.usage_quantity else {{ quantity_zero }} end)
            as unpriced_usage_quantity
    from usage_records
    where usage_records.compute_kind = 'job_run'
    group by usage_records.workspace_id, usage_records.job_run_id, usage_records.usage_date, usage_records.product
),

job_runs as (
    select
        usage_records.workspace_id,
        usage_records.job_run_id,
        max(usage_records.tagged_invocation_id) as tagged_invocation_id
    from usage_records
    where usage_records.compute_kind = 'job_run'
    group by usage_records.workspace_id, usage_records.job_run_id
),

run_invocations as (
    {#- The custom tag names the invocation; else the invocations whose node results reported the run. -#}
    select
        job_runs.workspace_id,
        job_runs.job_run_id,
        job_runs.tagged_invocation_id as invocation_id
    from job_runs
    where job_runs.tagged_invocation_id is not null
    union
    select
        job_runs.workspace_id,
        job_runs.job_run_id,
        node_results.invocation_id
    from job_runs
    inner join node_results on job_runs.job_run_id = node_results.adapter_job_run_id
    where job_runs.tagged_invocation_id is null
),

run_nodes as (
    select
        run_invocations.workspace_id,
        run_invocations.job_run_id,
        node_results.invocation_id,
        node_results.node_id,
        node_results.resource_type,
        node_results.pipeline_id,
        node_results.pipeline_run_id,
        node_results.orchestrator,
        cast(node_results.execution_time_s as {{ dbt_pipeline_costs.float_type() }}) as weight,
        sum(cast(node_results.execution_time_s as {{ dbt_pipeline_costs.float_type() }})) over (
            partition by run_invocations.workspace_id, run_invocations.job_run_id
        ) as total_weight
    from run_invocations
    inner join node_results on run_invocations.invocation_id = node_results.invocation_id
    where node_results.execution_time_s > 0
),

run_links as (
    select
        run_invocations.workspace_id,
        run_invocations.job_run_id,
        min(run_invocations.invocation_id) as invocation_id
    from run_invocations
    group by run_invocations.workspace_id, run_invocations.job_run_id
),

job_shares as (
    {#- A run no node result can take keeps one line (its only row is the anchor, all of the cost):
        dbt_without_node when an invocation is linked, else not_dbt. -#}
    select
        job_usage.*,
        run_nodes.node_id,
        run_nodes.resource_type,
        case
            when run_nodes.node_id is not null then 'attributed'
            when linked.invocation_id is not null then 'dbt_without_node'
            else 'not_dbt'
        end as attribution,
        coalesce(run_nodes.invocation_id, linked.invocation_id) as invocation_id,
        case
            when run_nodes.node_id is not null then run_nodes.pipeline_id
            when linked.invocation_id is not null then coalesce(invocations.pipeline_id, '(unknown pipeline)')
        end as pipeline_id,
        case
            when run_nodes.node_id is not null then run_nodes.pipeline_run_id
            when linked.invocation_id is not null then coalesce(invocations.pipeline_run_id, linked.invocation_id)
        end as pipeline_run_id,
        case when run_nodes.node_id is not null then run_nodes.orchestrator else invocations.orchestrator end
            as orchestrator,
        case
            when run_nodes.node_id is not null
                then {{ dbt_pipeline_costs.allocated_share(
                    'job_usage.usage_quantity', 'run_nodes.weight', 'run_nodes.total_weight'
                ) }}
            else job_usage.usage_quantity
        end as usage_quantity_share,
        case
            when run_nodes.node_id is not null
                then {{ dbt_pipeline_costs.allocated_share(
                    'job_usage.billed_cost', 'run_nodes.weight', 'run_nodes.total_weight'
                ) }}
            else {{ zero }}
        end as rounded_share,
        row_number() over (
            partition by job_usage.workspace_id, job_usage.job_run_id, job_usage.cost_date, job_usage.product
            order by run_nodes.weight desc, run_nodes.invocation_id asc, run_nodes.node_id asc
        ) as anchor_rank
    from job_usage
    left join run_nodes
        on job_usage.workspace_id = run_nodes.workspace_id and job_usage.job_run_id = run_nodes.job_run_id
    left join run_links as linked
        on job_usage.workspace_id = linked.workspace_id and job_usage.job_run_id = linked.job_run_id
    left join invocations on linked.invocation_id = invocations.invocation_id
),

job_totals as (
    select
        job_shares.*,
        sum(job_shares.rounded_share) over (
            partition by job_shares.workspace_id, job_shares.job_run_id, job_shares.cost_date, job_shares.product
        ) as pool_rounded_total
    from job_shares
),

job_lines as (
    select
        'job_run' as line_type,
        job_totals.attribution,
        job_totals.cost_date,
        cast(null as {{ dbt_pipeline_costs.timestamp_type() }}) as hour_started_at,
        job_totals.created_at,
        job_totals.product,
        job_totals.workspace_id,
        cast(null as {{ dbt.type_string() }}) as compute_id,
        job_totals.job_run_id,
        cast(null as {{ dbt.type_string() }}) as query_id,
        cast(null as {{ dbt.type_bigint() }}) as overlap_ms,
        job_totals.invocation_id,
        job_totals.node_id,
        job_totals.resource_type,
        job_totals.pipeline_id,
        job_totals.pipeline_run_id,
        job_totals.orchestrator,
        cast(job_totals.usage_quantity_share as {{ dbt_pipeline_costs.usage_quantity_type() }}) as usage_quantity,
        case when job_totals.anchor_rank = 1 then job_totals.unpriced_usage_quantity else {{ quantity_zero }} end
            as unpriced_usage_quantity,
        {{ dbt_pipeline_costs.anchored_share(
            'job_totals.billed_cost', 'job_totals.rounded_share',
            'job_totals.pool_rounded_total', 'job_totals.anchor_rank = 1'
        ) }} as cost
    from job_totals
),

-- Everything else, one line per record (10.6)
other_lines as (
    select
        'other_compute' as line_type,
        'other_compute' as attribution,
        usage_records.usage_date as cost_date,
        usage_records.usage_started_at as hour_started_at,
        usage_records.usage_started_at as created_at,
        usage_records.product,
        usage_records.workspace_id,
        usage_records.compute_id,
        cast(null as {{ dbt.type_string() }}) as job_run_id,
        cast(null as {{ dbt.type_string() }}) as query_id,
        cast(null as {{ dbt.type_bigint() }}) as overlap_ms,
        cast(null as {{ dbt.type_string() }}) as invocation_id,
        cast(null as {{ dbt.type_string() }}) as node_id,
        cast(null as {{ dbt.type_string() }}) as resource_type,
        cast(null as {{ dbt.type_string() }}) as pipeline_id,
        cast(null as {{ dbt.type_string() }}) as pipeline_run_id,
        cast(null as {{ dbt.type_string() }}) as orchestrator,
        usage_records.usage_quantity,
        case when usage_records.is_unpriced then usage_records.usage_quantity else {{ quantity_zero }} end
            as unpriced_usage_quantity,
        usage_records.cost
    from usage_records
    where usage_records.compute_kind = 'other_compute'
),

unioned as (
    select * from statement_lines
    union all
    select * from idle_lines
    union all
    select * from job_lines
    union all
    select * from other_lines
),

final as (
    select
        'databricks' as platform,
        unioned.line_type,
        unioned.attribution,
        unioned.cost_date,
        unioned.hour_started_at,
        unioned.created_at,
        unioned.product,
        unioned.workspace_id,
        unioned.compute_id,
        unioned.job_run_id,
        unioned.query_id,
        unioned.overlap_ms,
        unioned.invocation_id,
        unioned.node_id,
        unioned.resource_type,
        unioned.pipeline_id,
        unioned.pipeline_run_id,
        unioned.orchestrator,
        unioned.usage_quantity,
        unioned.unpriced_usage_quantity,
        {{ dbt_pipeline_costs.money('unioned.cost') }} as cost,
        '{{ dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) }}' as currency
    from unioned
)

select * from final
