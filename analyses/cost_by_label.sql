{#-
    Billed cost by label: per platform, label key and value, from the billing day
    dbt_pipeline_costs_label_days days before the compile on (BigQuery: cost_date; Databricks:
    usage_date). BigQuery: the jobs' labels (a script's child without labels of its own takes its
    parent's); Databricks: the custom tags of the billing usage records (cluster, job, warehouse and
    budget-policy tags). Compile with

        dbt compile --select cost_by_label --vars '{dbt_pipeline_costs_label_days: 30, dbt_pipeline_costs_label_keys: [team]}'

    and run the SQL in target/compiled/ (or paste it into a BI tool). dbt_pipeline_costs_label_keys:
    the keys to report (default: every key seen).

    For each platform and key, the values plus '(unlabelled)' (the cost without that key) add up to
    the platform's billed cost of the window (billed_cost, as in cost_coverage): a job or record has
    at most one value per key, so nothing is counted twice within a key. Summing across different
    keys counts the same money once per key.
    BigQuery reads the labels from JOBS_BY_PROJECT (the package's staging keeps none), from two days
    before the window on (bounded by creation_time; a job created earlier counts as unlabelled), once
    for a job's own labels and once for its parent's: two small scans of the view.
-#}
{%- set days = var('dbt_pipeline_costs_label_days', 30) -%}
{%- set keys = var('dbt_pipeline_costs_label_keys', []) -%}
{#- Checked when compiling only (execute): a wrong var never stops `dbt parse` or a build. -#}
{%- set days_ok = days is number and days is not sameas true and days is not sameas false
    and days >= 1 and days == days | int -%}
{%- if execute and not days_ok -%}
    {{ exceptions.raise_compiler_error(
        "dbt_pipeline_costs: dbt_pipeline_costs_label_days must be a whole number >= 1; got '" ~ days ~ "'"
    ) }}
{%- endif -%}
{%- if keys is string or keys is not iterable or keys is mapping -%}
    {%- if execute -%}
        {{ exceptions.raise_compiler_error(
            "dbt_pipeline_costs: dbt_pipeline_costs_label_keys must be a list of label keys; got '" ~ keys ~ "'"
        ) }}
    {%- endif -%}
    {%- set keys = [] -%}
{%- endif -%}
{%- set today = run_started_at.astimezone(modules.pytz.utc).replace(tzinfo=none) -%}
{%- set first_day = today - modules.datetime.timedelta(days=days | int) -%}
{%- set bigquery = var('dbt_pipeline_costs_bigquery_enabled') -%}
{%- set databricks = var('dbt_pipeline_costs_databricks_enabled') -%}
{%- set zero = dbt_pipeline_costs.money('0') -%}
{%- set platforms = (['bigquery'] if bigquery else []) + (['databricks'] if databricks else []) -%}
{%- if execute and not platforms -%}
    {{ exceptions.raise_compiler_error(
        "dbt_pipeline_costs: no platform enabled: set dbt_pipeline_costs_bigquery_enabled or dbt_pipeline_costs_databricks_enabled to true"
    ) }}
{%- endif -%}
{%- set key_literals = [] -%}
{%- for key in keys -%}
    {%- do key_literals.append("'" ~ dbt_pipeline_costs.escape_string_literal(key | string) ~ "'") -%}
{%- endfor -%}
{%- set tag_conditions = ['usage_records.usage_date >= ' ~ dbt_pipeline_costs.date_literal(first_day)] -%}
{%- if keys -%}
    {%- do tag_conditions.append('tag.key in (' ~ key_literals | join(', ') ~ ')') -%}
{%- endif %}

with

{% if bigquery -%}
bigquery_label_arrays as (
    {#- One select per project x region, as stg_bigquery__jobs reads them. #}
    {%- for read in dbt_pipeline_costs.bigquery_region_relations(source('bigquery_information_schema', 'jobs')) %}
    select
        jobs.project_id,
        '{{ dbt.escape_single_quotes(read.region) }}' as location,
        jobs.job_id,
        jobs.labels
    from {{ read.relation }} as jobs
    where
        jobs.creation_time >= {{ dbt_pipeline_costs.timestamp_literal(first_day - modules.datetime.timedelta(days=2)) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

bigquery_job_labels as (
    {#- One value per job and key (a duplicated job row or key counts once). #}
    select
        bigquery_label_arrays.project_id,
        bigquery_label_arrays.location,
        bigquery_label_arrays.job_id,
        label.key as label_key,
        min(label.value) as label_value
    from bigquery_label_arrays
    {{ dbt_pipeline_costs.unnest_join('bigquery_label_arrays.labels', 'label') }}
    group by bigquery_label_arrays.project_id, bigquery_label_arrays.location, bigquery_label_arrays.job_id, label.key
),

bigquery_labelled_jobs as (
    select distinct
        bigquery_job_labels.project_id,
        bigquery_job_labels.location,
        bigquery_job_labels.job_id
    from bigquery_job_labels
),

bigquery_labels as (
    select * from bigquery_job_labels
    {%- if keys %}
    where label_key in ({{ key_literals | join(', ') }})
    {%- endif %}
),

bigquery_costs as (
    {#- A job's own labels, else (a script's child) its parent's. #}
    select
        queries.project_id,
        queries.location,
        case when own.job_id is not null then queries.query_id else queries.parent_job_id end as label_job_id,
        queries.cost,
        queries.currency
    from {{ ref('query_costs') }} as queries
    left join bigquery_labelled_jobs as own
        on
            queries.project_id = own.project_id
            and queries.location = own.location
            and queries.query_id = own.job_id
    where queries.platform = 'bigquery' and queries.cost_date >= {{ dbt_pipeline_costs.date_literal(first_day) }}
),

{% endif -%}
{% if databricks -%}
databricks_tags as (
    select
        usage_records.record_id,
        tag.key as label_key,
        min(tag.value) as label_value
    from {{ ref('stg_databricks__billing_usage') }} as usage_records
    {{ dbt_pipeline_costs.unnest_join(dbt_pipeline_costs.map_entries('usage_records.custom_tags'), 'tag') }}
    where
        {{ tag_conditions | join('\n        and ') }}
    group by usage_records.record_id, tag.key
),

databricks_costs as (
    select
        usage_costs.record_id,
        usage_costs.cost,
        usage_costs.currency
    from {{ ref('int_databricks_usage_priced') }} as usage_costs
    where usage_costs.usage_date >= {{ dbt_pipeline_costs.date_literal(first_day) }}
),

{% endif -%}
labelled as (
    {%- if bigquery %}
    select
        'bigquery' as platform,
        'job_label' as label_source,
        bigquery_labels.label_key,
        bigquery_labels.label_value,
        bigquery_costs.currency,
        count(*) as item_count,
        sum(bigquery_costs.cost) as cost
    from bigquery_costs
    inner join bigquery_labels
        on
            bigquery_costs.project_id = bigquery_labels.project_id
            and bigquery_costs.location = bigquery_labels.location
            and bigquery_costs.label_job_id = bigquery_labels.job_id
    group by bigquery_labels.label_key, bigquery_labels.label_value, bigquery_costs.currency
    {%- endif %}
    {%- if bigquery and databricks %}
    union all
    {%- endif %}
    {%- if databricks %}
    select
        'databricks' as platform,
        'custom_tag' as label_source,
        databricks_tags.label_key,
        databricks_tags.label_value,
        databricks_costs.currency,
        count(*) as item_count,
        sum(databricks_costs.cost) as cost
    from databricks_costs
    inner join databricks_tags on databricks_costs.record_id = databricks_tags.record_id
    group by databricks_tags.label_key, databricks_tags.label_value, databricks_costs.currency
    {%- endif %}
),

billed as (
    {%- if bigquery %}
    select
        'bigquery' as platform,
        bigquery_costs.currency,
        count(*) as item_count,
        sum(bigquery_costs.cost) as billed_cost
    from bigquery_costs
    group by bigquery_costs.currency
    {%- endif %}
    {%- if bigquery and databricks %}
    union all
    {%- endif %}
    {%- if databricks %}
    select
        'databricks' as platform,
        databricks_costs.currency,
        count(*) as item_count,
        sum(databricks_costs.cost) as billed_cost
    from databricks_costs
    group by databricks_costs.currency
    {%- endif %}
),

key_totals as (
    select
        labelled.platform,
        labelled.label_source,
        labelled.label_key,
        labelled.currency,
        sum(labelled.item_count) as item_count,
        sum(labelled.cost) as cost
    from labelled
    group by labelled.platform, labelled.label_source, labelled.label_key, labelled.currency
),

unlabelled as (
    {#- Per key: what of the bill carries no value for it. #}
    select
        key_totals.platform,
        key_totals.label_source,
        key_totals.label_key,
        '(unlabelled)' as label_value,
        key_totals.currency,
        billed.item_count - key_totals.item_count as item_count,
        billed.billed_cost - key_totals.cost as cost
    from key_totals
    inner join billed on key_totals.platform = billed.platform and key_totals.currency = billed.currency
),

final as (
    select
        values_and_rest.platform,
        values_and_rest.label_source,
        values_and_rest.label_key,
        values_and_rest.label_value,
        values_and_rest.cost,
        values_and_rest.currency,
        values_and_rest.item_count,
        billed.billed_cost,
        case
            when billed.billed_cost <> {{ zero }}
                then {{ dbt_pipeline_costs.ratio('values_and_rest.cost * 100', 'billed.billed_cost') }}
        end as share_of_billed_pct
    from (
        select * from labelled
        union all
        select * from unlabelled
    ) as values_and_rest
    inner join billed on values_and_rest.platform = billed.platform and values_and_rest.currency = billed.currency
)

select * from final
order by platform asc, label_key asc, cost desc, label_value asc
