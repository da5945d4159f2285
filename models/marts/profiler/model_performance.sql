{#-
    One row per model x platform built, reused or skipped in the profile window: how long its builds
    take (p50 / p95), how fast they go (rows/s, bytes/s), what a build costs (per build, per million
    rows, per month), how often it fails and needs a retry, how much of its inputs a build reads,
    and the issues the thresholds flag (docs/cost-rules.md section 14).
-#}
{%- set window_days = dbt_pipeline_costs.number_var('dbt_pipeline_costs_profile_window_days', minimum=1, whole=true) -%}
{%- set slow_seconds = dbt_pipeline_costs.number_var('dbt_pipeline_costs_slow_model_seconds') -%}
{%- set failing_pct = dbt_pipeline_costs.number_var('dbt_pipeline_costs_failing_error_rate_pct', maximum=100) -%}
{%- set full_scan_ratio = dbt_pipeline_costs.number_var('dbt_pipeline_costs_full_scan_ratio') -%}
{%- set min_builds_per_day = dbt_pipeline_costs.number_var('dbt_pipeline_costs_incremental_min_builds_per_day') -%}
{%- set bigquery = var('dbt_pipeline_costs_bigquery_enabled') -%}
{%- set window_start = dbt_pipeline_costs.profile_window_start() -%}
{#- Reads of the query-level tables start a day before the window: a build in the window may have
    queued its first query just before it (only a pruning bound; builds are picked by their time). -#}
{%- set read_start = dbt.dateadd('day', -1, window_start) -%}
{%- set partition = 'builds.node_id, builds.platform' %}

with

model_runs as (
    select * from {{ ref('model_costs') }}
    where resource_type = 'model'
),

results as (
    select * from {{ ref('int_dbt_node_results') }}
    where resource_type = 'model'
),

result_configs as (
    select * from {{ ref('stg_dbt__node_results') }}
    where resource_type = 'model'
),

nodes as (
    select * from {{ ref('stg_dbt__nodes') }}
),

queries as (
    select * from {{ ref('query_costs') }}
    where attribution = 'attributed' and created_at >= {{ read_start }}
),

{% if bigquery %}
referenced_tables as (
    select * from {{ ref('stg_bigquery__job_referenced_tables') }}
    where created_at >= {{ read_start }}
),

table_storage as (
    {#- One row per table, its live versions' bytes summed (all versions dropped: left out). #}
    select * from {{ ref('storage_costs') }}
    where not is_deleted
),

{% endif %}
runs as (
    select
        model_runs.*,
        {#- The invocation's time (docs/cost-rules.md section 9), else its first query's start. #}
        coalesce(results.result_time, model_runs.first_started_at) as run_time,
        result_configs.materialized
    from model_runs
    left join results
        on
            model_runs.invocation_id = results.invocation_id
            and model_runs.node_id = results.node_id
    left join result_configs
        on
            model_runs.invocation_id = result_configs.invocation_id
            and model_runs.node_id = result_configs.node_id
),

windowed as (
    select * from runs
    where run_time >= {{ window_start }} and run_time < {{ dbt_pipeline_costs.as_of_timestamp() }}
),

ranked_configs as (
    select
        windowed.node_id,
        windowed.platform,
        windowed.materialized,
        row_number() over (
            partition by windowed.node_id, windowed.platform
            order by windowed.run_time desc, windowed.invocation_id desc
        ) as recency
    from windowed
    where windowed.materialized is not null
),

latest_configs as (
    {#- What the model was built as lately (the project as it ran), else the current graph's config. #}
    select * from ranked_configs
    where recency = 1
),

build_queries as (
    select
        queries.invocation_id,
        queries.node_id,
        sum(queries.bytes_processed) as bytes_processed,
        {{ dbt_pipeline_costs.count_where(
            "queries.error_reason is not null and queries.error_reason not in ('stopped', 'canceled')"
        ) }} as failed_query_count
    from queries
    group by queries.invocation_id, queries.node_id
),

{% if bigquery %}
build_tables as (
    {#- The distinct tables a build's jobs read (script children included). -#}
    select distinct
        queries.invocation_id,
        queries.node_id,
        referenced_tables.referenced_project_id,
        referenced_tables.referenced_dataset_id,
        referenced_tables.referenced_table_id
    from queries
    inner join referenced_tables
        on
            queries.project_id = referenced_tables.project_id
            and queries.location = referenced_tables.location
            and queries.query_id = referenced_tables.job_id
    where queries.platform = 'bigquery'
),

table_sizes as (
    select
        table_storage.project_id,
        table_storage.dataset_id,
        table_storage.table_id,
        table_storage.total_logical_bytes as logical_bytes
    from table_storage
),

build_writes as (
    select distinct
        queries.invocation_id,
        queries.node_id,
        queries.destination_project_id,
        queries.destination_dataset_id,
        queries.destination_table_id
    from queries
    where queries.platform = 'bigquery' and queries.destination_table_id is not null
),

build_reads as (
    {#- What a build read, less what it wrote (an incremental's temporary table and its target). -#}
    select build_tables.*
    from build_tables
    left join build_writes
        on
            build_tables.invocation_id = build_writes.invocation_id
            and build_tables.node_id = build_writes.node_id
            and build_tables.referenced_project_id = build_writes.destination_project_id
            and build_tables.referenced_dataset_id = build_writes.destination_dataset_id
            and build_tables.referenced_table_id = build_writes.destination_table_id
    where build_writes.invocation_id is null
),

build_scans as (
    {#- Sized only when every table read has a storage row: a view (or a table of a region not read)
        hides what the build really read. -#}
    select
        build_reads.invocation_id,
        build_reads.node_id,
        case
            when count(table_sizes.table_id) = count(*) then sum(table_sizes.logical_bytes)
        end as referenced_logical_bytes
    from build_reads
    left join table_sizes
        on
            build_reads.referenced_project_id = table_sizes.project_id
            and build_reads.referenced_dataset_id = table_sizes.dataset_id
            and build_reads.referenced_table_id = table_sizes.table_id
    group by build_reads.invocation_id, build_reads.node_id
),

{% endif %}
builds as (
    select
        windowed.node_id,
        windowed.platform,
        windowed.invocation_id,
        windowed.pipeline_id,
        windowed.cost,
        windowed.rows_affected,
        {{ dbt_pipeline_costs.status_class('windowed.status') }} = 'built' as is_build,
        windowed.status = 'success' as is_success,
        windowed.status = 'error' as is_error,
        windowed.status = 'reused' as is_reused,
        windowed.status = 'skipped' as is_skipped,
        {#- dbt's own execution time; the jobs' span when the run uploaded no result. #}
        cast(
            coalesce(windowed.dbt_execution_time_s, windowed.execution_time_s) as {{ dbt_pipeline_costs.float_type() }}
        ) as duration_s,
        build_queries.bytes_processed,
        windowed.status = 'success' and coalesce(build_queries.failed_query_count, 0) > 0 as is_retried,
        {%- if bigquery %}
        build_scans.referenced_logical_bytes
        {%- else %}
        cast(null as {{ dbt.type_bigint() }}) as referenced_logical_bytes
        {%- endif %}
    from windowed
    left join build_queries
        on
            windowed.invocation_id = build_queries.invocation_id
            and windowed.node_id = build_queries.node_id
    {%- if bigquery %}
    left join build_scans
        on
            windowed.invocation_id = build_scans.invocation_id
            and windowed.node_id = build_scans.node_id
    {%- endif %}
),

percentiles as (
    {#- Over successful builds only (NULL elsewhere, and percentiles ignore NULLs). -#}
    select
        builds.*,
        {{ dbt_pipeline_costs.percentile_over(
            'case when builds.is_success then builds.duration_s end', 0.5, partition
        ) }} as duration_p50_s,
        {{ dbt_pipeline_costs.percentile_over(
            'case when builds.is_success then builds.duration_s end', 0.95, partition
        ) }} as duration_p95_s,
        {{ dbt_pipeline_costs.percentile_over(
            'case when builds.is_success then cast(builds.bytes_processed as '
            ~ dbt_pipeline_costs.float_type() ~ ') end', 0.5, partition
        ) }} as scanned_bytes_p50,
        {{ dbt_pipeline_costs.percentile_over(
            'case when builds.is_success and builds.referenced_logical_bytes > 0 then cast('
            ~ 'builds.referenced_logical_bytes as ' ~ dbt_pipeline_costs.float_type() ~ ') end', 0.5, partition
        ) }} as referenced_bytes_p50,
        {{ dbt_pipeline_costs.percentile_over(
            'case when builds.is_success then '
            ~ dbt_pipeline_costs.ratio('builds.bytes_processed', 'builds.referenced_logical_bytes') ~ ' end',
            0.5, partition
        ) }} as scan_ratio
    from builds
),

profiles as (
    select
        percentiles.node_id,
        percentiles.platform,
        count(distinct case when percentiles.is_build then percentiles.pipeline_id end) as pipeline_count,
        {{ dbt_pipeline_costs.count_where('percentiles.is_build') }} as build_count,
        {{ dbt_pipeline_costs.count_where('percentiles.is_success') }} as success_count,
        {{ dbt_pipeline_costs.count_where('percentiles.is_error') }} as error_count,
        {{ dbt_pipeline_costs.count_where('percentiles.is_retried') }} as retried_count,
        {{ dbt_pipeline_costs.count_where('percentiles.is_reused') }} as reused_count,
        {{ dbt_pipeline_costs.count_where('percentiles.is_skipped') }} as skipped_count,
        min(percentiles.duration_p50_s) as duration_p50_s,
        min(percentiles.duration_p95_s) as duration_p95_s,
        {#- Throughput: sums over the successful builds that report both figures. #}
        {%- for measure, prefix in [('rows_affected', 'rows'), ('bytes_processed', 'bytes')] %}
        cast(sum(
            case
                when percentiles.is_success and percentiles.duration_s is not null then percentiles.{{ measure }}
            end
        ) as {{ dbt.type_bigint() }}) as {{ measure }},
        sum(
            case
                when percentiles.is_success and percentiles.{{ measure }} is not null then percentiles.duration_s
            end
        ) as {{ prefix }}_duration_s,
        {%- endfor %}
        sum(percentiles.cost) as total_cost,
        sum(case when percentiles.is_error then percentiles.cost else {{ dbt_pipeline_costs.money('0') }} end)
            as failed_build_cost,
        sum(
            case
                when percentiles.is_success and percentiles.rows_affected is not null then percentiles.cost
                else {{ dbt_pipeline_costs.money('0') }}
            end
        ) as rows_cost,
        cast(sum(
            case when percentiles.is_success then percentiles.rows_affected end
        ) as {{ dbt.type_bigint() }}) as costed_rows,
        min(percentiles.scanned_bytes_p50) as scanned_bytes_p50,
        min(percentiles.referenced_bytes_p50) as referenced_bytes_p50,
        min(percentiles.scan_ratio) as scan_ratio
    from percentiles
    group by percentiles.node_id, percentiles.platform
),

final as (
    select
        profiles.node_id,
        profiles.platform,
        nodes.package_name,
        nodes.name,
        coalesce(latest_configs.materialized, nodes.materialized) as materialized,
        profiles.pipeline_count,
        profiles.build_count,
        profiles.success_count,
        profiles.error_count,
        profiles.retried_count,
        profiles.reused_count,
        profiles.skipped_count,
        {{ dbt_pipeline_costs.ratio('profiles.build_count', window_days) }} as builds_per_day,
        profiles.duration_p50_s,
        profiles.duration_p95_s,
        profiles.rows_affected,
        {{ dbt_pipeline_costs.ratio('profiles.rows_affected', 'profiles.rows_duration_s') }} as rows_per_s,
        profiles.bytes_processed,
        {{ dbt_pipeline_costs.ratio('profiles.bytes_processed', 'profiles.bytes_duration_s') }} as bytes_per_s,
        profiles.total_cost,
        profiles.failed_build_cost,
        case
            when profiles.build_count > 0
                then {{ dbt_pipeline_costs.money(dbt_pipeline_costs.scale_money(
                    'profiles.total_cost', 1, 'profiles.build_count')) }}
        end as cost_per_build,
        case
            when profiles.costed_rows > 0
                then {{ dbt_pipeline_costs.money(dbt_pipeline_costs.scale_money(
                    'profiles.rows_cost', 1000000, 'profiles.costed_rows')) }}
        end as cost_per_million_rows,
        {{ dbt_pipeline_costs.monthly('profiles.total_cost', window_days) }} as monthly_cost,
        '{{ dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) }}' as currency,
        {{ dbt_pipeline_costs.ratio('profiles.error_count', 'profiles.build_count') }} as error_rate,
        {{ dbt_pipeline_costs.ratio('profiles.retried_count', 'profiles.build_count') }} as retry_rate,
        profiles.scanned_bytes_p50,
        profiles.referenced_bytes_p50,
        profiles.scan_ratio,
        coalesce(profiles.duration_p50_s >= {{ slow_seconds }}, false) as is_slow,
        profiles.build_count > 0 and profiles.error_count * 100 >= {{ failing_pct }} * profiles.build_count
            as is_failing,
        coalesce(profiles.scan_ratio >= {{ full_scan_ratio }}, false) as is_full_scan,
        coalesce(coalesce(latest_configs.materialized, nodes.materialized) = 'table', false)
        and profiles.success_count > 0
        and profiles.success_count >= {{ min_builds_per_day }} * {{ window_days }} as should_be_incremental
    from profiles
    left join latest_configs
        on
            profiles.node_id = latest_configs.node_id
            and profiles.platform = latest_configs.platform
    left join nodes on profiles.node_id = nodes.node_id
)

select * from final
