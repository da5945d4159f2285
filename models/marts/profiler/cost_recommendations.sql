{#-
    One row per finding: what to change (kind), where (subject), the numbers behind it (evidence),
    what the subject costs a month now and what the change would save (docs/cost-rules.md section 14).
    Savings of different kinds can overlap (a model rebuilt by two jobs and not reused): they are
    estimates per finding, not to be added up.
-#}
{%- set window_days = dbt_pipeline_costs.number_var('dbt_pipeline_costs_profile_window_days', minimum=1, whole=true) -%}
{%- set sao_window_days = dbt_pipeline_costs.number_var('dbt_pipeline_costs_sao_window_days', minimum=1, whole=true) -%}
{%- set incremental_share = dbt_pipeline_costs.number_var(
    'dbt_pipeline_costs_incremental_read_share_pct', maximum=100) -%}
{%- set filter_share = dbt_pipeline_costs.number_var(
    'dbt_pipeline_costs_partition_filter_read_share_pct', maximum=100) -%}
{%- set min_saving = dbt_pipeline_costs.number_var('dbt_pipeline_costs_recommendation_min_monthly_saving') -%}
{%- set high = dbt_pipeline_costs.number_var('dbt_pipeline_costs_sao_high_savings') -%}
{%- set medium = dbt_pipeline_costs.number_var('dbt_pipeline_costs_sao_medium_savings', maximum=high) -%}
{%- set bigquery = var('dbt_pipeline_costs_bigquery_enabled') -%}
{%- set currency = dbt.escape_single_quotes(dbt_pipeline_costs.output_currency()) -%}
{%- set text = dbt.type_string() -%}
{%- set prices = dbt_pipeline_costs.alternative_bigquery_prices() if bigquery else {} -%}
{%- set columns = [
    'recommendation_id', 'kind', 'subject_type', 'subject', 'platform', 'current_setting', 'recommended_setting',
    'evidence', 'monthly_cost', 'estimated_monthly_saving',
] -%}
{%- set kinds = ['fix_failing_model', 'make_incremental', 'add_partition_filter', 'enable_reuse', 'duplicate_work'] -%}
{%- if bigquery %}{% do kinds.extend(['switch_pricing_model', 'switch_storage_billing']) %}{% endif %}

with

models as (
    select * from {{ ref('model_performance') }}
),

sao as (
    select * from {{ ref('sao_opportunities') }}
),

overlapping as (
    select * from {{ ref('job_overlap') }}
),

{% if bigquery %}
queries as (
    select * from {{ ref('query_costs') }}
    where
        platform = 'bigquery'
        and attribution in ('attributed', 'not_dbt')
        and created_at >= {{ dbt_pipeline_costs.profile_window_start() }}
        and created_at < {{ dbt_pipeline_costs.as_of_timestamp() }}
),

datasets as (
    select * from {{ ref('storage_dataset_costs') }}
),

{% endif %}
make_incremental as (
    {#- A table model rebuilt often; add_partition_filter takes the full scans. -#}
    select
        'make_incremental:' || models.platform || ':' || models.node_id as recommendation_id,
        'make_incremental' as kind,
        'model' as subject_type,
        models.node_id as subject,
        models.platform,
        'table' as current_setting,
        'incremental' as recommended_setting,
        'a table built ' || {{ dbt_pipeline_costs.format_fixed('models.builds_per_day', 1) }}
        || ' times a day (' || cast(models.build_count as {{ text }}) || ' builds in {{ window_days }} days)'
        || ' for ' || {{ dbt_pipeline_costs.amount_text('models.monthly_cost') }}
        || ' a month; an incremental build would cost about'
        || ' {{ incremental_share }}% of a full one' as evidence,
        models.monthly_cost,
        {{ dbt_pipeline_costs.money(dbt_pipeline_costs.scale_money(
            'models.monthly_cost', 100 - incremental_share, 100)) }} as estimated_monthly_saving
    from models
    where models.should_be_incremental and not models.is_full_scan
),

add_partition_filter as (
    select
        'add_partition_filter:' || models.platform || ':' || models.node_id as recommendation_id,
        'add_partition_filter' as kind,
        'model' as subject_type,
        models.node_id as subject,
        models.platform,
        cast(null as {{ text }}) as current_setting,
        cast(null as {{ text }}) as recommended_setting,
        'a build reads a median ' || {{ dbt_pipeline_costs.format_fixed('models.scan_ratio', 2) }}
        || ' of the logical bytes of the tables it references (median '
        || {{ dbt_pipeline_costs.format_fixed('models.scanned_bytes_p50 / 1073741824', 2) }} || ' GiB read of '
        || {{ dbt_pipeline_costs.format_fixed('models.referenced_bytes_p50 / 1073741824', 2) }} || ' GiB); '
        || {{ dbt_pipeline_costs.amount_text('models.monthly_cost') }}
        || ' a month; filtered on partitions or clusters it would read'
        || ' about {{ filter_share }}% of them' as evidence,
        models.monthly_cost,
        {#- The share a filtered build would read instead of scan_ratio (guarded: engines may compute a
            column before the filter). -#}
        case
            when models.scan_ratio * 100 > {{ filter_share }}
                then {{ dbt_pipeline_costs.money(
                    'cast(models.monthly_cost as ' ~ dbt_pipeline_costs.float_type() ~ ') * (1 - '
                    ~ (filter_share / 100.0) ~ ' / models.scan_ratio)'
                ) }}
        end as estimated_monthly_saving
    from models
    where models.is_full_scan and models.scan_ratio * 100 > {{ filter_share }}
),

fix_failing_model as (
    select
        'fix_failing_model:' || models.platform || ':' || models.node_id as recommendation_id,
        'fix_failing_model' as kind,
        'model' as subject_type,
        models.node_id as subject,
        models.platform,
        cast(null as {{ text }}) as current_setting,
        cast(null as {{ text }}) as recommended_setting,
        'failed ' || cast(models.error_count as {{ text }}) || ' of ' || cast(models.build_count as {{ text }})
        || ' builds ('
        || {{ dbt_pipeline_costs.format_fixed('100 * models.error_rate', 1) }} || '%) in {{ window_days }} days;'
        || ' the failed builds cost ' || {{ dbt_pipeline_costs.amount_text('models.failed_build_cost') }} as evidence,
        models.monthly_cost,
        {{ dbt_pipeline_costs.monthly('models.failed_build_cost', window_days) }} as estimated_monthly_saving
    from models
    where models.is_failing
),

enable_reuse as (
    {#- sao_opportunities' own figures (its window: dbt_pipeline_costs_sao_window_days). -#}
    select
        'enable_reuse:' || sao.pipeline_id as recommendation_id,
        'enable_reuse' as kind,
        'pipeline' as subject_type,
        sao.pipeline_id as subject,
        cast(null as {{ text }}) as platform,
        cast(null as {{ text }}) as current_setting,
        cast(null as {{ text }}) as recommended_setting,
        'reuses ' || {{ dbt_pipeline_costs.format_fixed('100 * coalesce(sao.current_reuse_rate, 0)', 1) }}
        || '% of its model builds (goal ' || {{ dbt_pipeline_costs.format_fixed('sao.reuse_goal_pct', 0) }}
        || '%) over ' || cast(sao.run_count as {{ text }}) || ' runs in {{ sao_window_days }} days costing '
        || {{ dbt_pipeline_costs.amount_text('sao.total_cost') }}
        || '; state-aware orchestration (build_after) reaching the goal'
        || ' skips that share of builds' as evidence,
        {{ dbt_pipeline_costs.monthly('sao.total_cost', sao_window_days) }} as monthly_cost,
        sao.estimated_monthly_savings as estimated_monthly_saving
    from sao
),

duplicate_work as (
    select
        'duplicate_work:' || overlapping.target_name || ':' || overlapping.node_id as recommendation_id,
        'duplicate_work' as kind,
        'model' as subject_type,
        overlapping.node_id as subject,
        cast(null as {{ text }}) as platform,
        cast(null as {{ text }}) as current_setting,
        cast(null as {{ text }}) as recommended_setting,
        'built ' || cast(overlapping.build_count as {{ text }}) || ' times on target ' || overlapping.target_name
        || ' by '
        || cast(overlapping.job_count as {{ text }}) || ' jobs (' || overlapping.job_ids
        || ') in {{ sao_window_days }} days; '
        || cast(overlapping.redundant_build_count as {{ text }}) || ' builds ('
        || {{ dbt_pipeline_costs.amount_text('overlapping.redundant_cost') }} || ') by jobs other than its main job '
        || overlapping.primary_pipeline_id as evidence,
        {{ dbt_pipeline_costs.monthly('overlapping.total_cost', sao_window_days) }} as monthly_cost,
        {{ dbt_pipeline_costs.monthly('overlapping.redundant_cost', sao_window_days) }} as estimated_monthly_saving
    from overlapping
),

{% if bigquery %}
pattern_queries as (
    {#- A query pattern: a dbt model's queries, or a principal's queries outside dbt, per pricing model. -#}
    select
        queries.*,
        case when queries.attribution = 'attributed' then 'model' else 'user' end as subject_type,
        case
            when queries.attribution = 'attributed' then queries.node_id
            else coalesce(queries.user_email, '(unknown user)')
        end as subject
    from queries
),

pricing_patterns as (
    select
        queries.subject_type,
        queries.subject,
        queries.pricing_model,
        cast(count(*) as {{ dbt.type_bigint() }}) as query_count,
        cast(sum(coalesce(queries.bytes_billed, 0)) as {{ dbt.type_bigint() }}) as bytes_billed,
        cast(sum(coalesce(queries.slot_ms, 0)) as {{ dbt.type_bigint() }}) as slot_ms,
        sum(queries.cost) as cost,
        sum(
            case
                when coalesce(queries.is_cache_hit, false) then {{ dbt_pipeline_costs.money('0') }}
                when queries.pricing_model = 'capacity' and queries.is_billable
                    then {{ dbt_pipeline_costs.price_quantity(
                        'coalesce(queries.bytes_billed, 0)', prices.on_demand, 1099511627776) }}
                when queries.pricing_model = 'capacity' then {{ dbt_pipeline_costs.money('0') }}
                else {{ dbt_pipeline_costs.price_quantity('coalesce(queries.slot_ms, 0)', prices.capacity, 3600000) }}
            end
        ) as alternative_cost
    from pattern_queries as queries
    group by queries.subject_type, queries.subject, queries.pricing_model
),

switch_pricing_model as (
    select
        'switch_pricing_model:bigquery:' || pricing_patterns.pricing_model || ':'
        || pricing_patterns.subject_type || ':' || pricing_patterns.subject as recommendation_id,
        'switch_pricing_model' as kind,
        pricing_patterns.subject_type,
        pricing_patterns.subject,
        'bigquery' as platform,
        pricing_patterns.pricing_model as current_setting,
        case when pricing_patterns.pricing_model = 'capacity' then 'on_demand' else 'capacity' end
            as recommended_setting,
        cast(pricing_patterns.query_count as {{ text }}) || ' queries in {{ window_days }} days, '
        || {{ dbt_pipeline_costs.format_fixed('pricing_patterns.bytes_billed / 1099511627776', 3) }} || ' TiB billed, '
        || {{ dbt_pipeline_costs.format_fixed('pricing_patterns.slot_ms / 3600000', 1) }} || ' slot-hours: '
        || {{ dbt_pipeline_costs.amount_text(dbt_pipeline_costs.monthly('pricing_patterns.cost', window_days)) }}
        || ' a month on '
        || pricing_patterns.pricing_model || ', about '
        || {{ dbt_pipeline_costs.amount_text(
            dbt_pipeline_costs.monthly('pricing_patterns.alternative_cost', window_days)
        ) }}
        || case
            when pricing_patterns.pricing_model = 'capacity' then ' on demand'
            else ' on {{ prices.edition }} capacity (slot-hours x {{ prices.overhead }} for autoscaler minimums)'
        end as evidence,
        {{ dbt_pipeline_costs.monthly('pricing_patterns.cost', window_days) }} as monthly_cost,
        {{ dbt_pipeline_costs.monthly('pricing_patterns.cost - pricing_patterns.alternative_cost', window_days) }}
            as estimated_monthly_saving
    from pricing_patterns
),

switch_storage_billing as (
    select
        'switch_storage_billing:bigquery:' || datasets.project_id || '.' || datasets.dataset_id
            as recommendation_id,
        'switch_storage_billing' as kind,
        'dataset' as subject_type,
        datasets.project_id || '.' || datasets.dataset_id as subject,
        'bigquery' as platform,
        datasets.billing_model as current_setting,
        datasets.cheaper_billing_model as recommended_setting,
        cast(datasets.table_count as {{ text }}) || ' tables in ' || datasets.location || ': '
        || {{ dbt_pipeline_costs.amount_text('datasets.monthly_logical_cost') }} || ' a month billed on logical bytes, '
        || {{ dbt_pipeline_costs.amount_text('datasets.monthly_physical_cost') }} || ' on physical bytes' as evidence,
        datasets.monthly_cost,
        datasets.monthly_saving as estimated_monthly_saving
    from datasets
    where datasets.cheaper_billing_model <> datasets.billing_model
),

{% endif %}
findings as (
    {%- for kind in kinds %}
    select * from {{ kind }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select
        {%- for column in columns %}
        findings.{{ column }},
        {%- endfor %}
        '{{ currency }}' as currency,
        case
            when findings.estimated_monthly_saving >= {{ high }} then 'High'
            when findings.estimated_monthly_saving >= {{ medium }} then 'Medium'
            else 'Low'
        end as priority
    from findings
    {#- fix_failing_model is kept whatever it saves; the others from the minimum saving on. #}
    where
        findings.kind = 'fix_failing_model'
        or (findings.estimated_monthly_saving > 0 and findings.estimated_monthly_saving >= {{ min_saving }})
)

select * from final
