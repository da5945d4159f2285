{#-
    One row per priced query (query_costs), with its lineage context - pipeline run key, the dbt
    node's name and file - and console_url, the drill-down link to the query in its warehouse:
    BigQuery's console job page (project, location and job id), or the Databricks query profile
    when the workspace's URL is in dbt_pipeline_costs_databricks_workspace_urls (else null).
-#}
{%- set workspace_urls = var('dbt_pipeline_costs_databricks_workspace_urls') or {} -%}
{%- if workspace_urls is not mapping -%}
    {{ exceptions.raise_compiler_error(
        "dbt_pipeline_costs: dbt_pipeline_costs_databricks_workspace_urls must map workspace ids to URLs, "
        ~ "e.g. {'1234567890123456': 'https://adb-1234567890123456.7.azuredatabricks.net'}; got "
        ~ workspace_urls | string) }}
{%- endif %}

with

queries as (
    select * from {{ ref('query_costs') }}
),

nodes as (
    select * from {{ ref('stg_dbt__nodes') }}
),

final as (
    select
        queries.platform,
        queries.project_id,
        queries.location,
        queries.query_id,
        queries.cost_date,
        queries.created_at,
        queries.duration_ms,
        queries.pipeline_id,
        queries.pipeline_run_id,
        case
            when queries.pipeline_id is not null
                then {{ dbt.concat(['queries.pipeline_id', "' | '", 'queries.pipeline_run_id']) }}
        end as run_key,
        queries.invocation_id,
        queries.node_id,
        coalesce(nodes.name, queries.node_id) as model_name,
        nodes.original_file_path,
        queries.user_email,
        queries.statement_type,
        queries.attribution,
        queries.bytes_processed,
        queries.bytes_billed,
        queries.slot_ms,
        queries.cost,
        queries.currency,
        case
            when queries.platform = 'bigquery'
                then {{ dbt.concat([
                    "'https://console.cloud.google.com/bigquery?project='", 'queries.project_id',
                    "'&j=bq:'", 'upper(queries.location)', "':'", 'queries.query_id',
                    "'&page=queryresults'",
                ]) }}
            {%- for workspace_id, url in workspace_urls.items() %}
            when queries.platform = 'databricks' and queries.project_id = '{{ dbt.escape_single_quotes(workspace_id | string) }}'
                then {{ dbt.concat([
                    "'" ~ dbt.escape_single_quotes((url | string).rstrip('/')) ~ "/sql/history?uiQueryProfileVisible=true&queryId='",
                    'queries.query_id',
                    "'&o='", 'queries.project_id',
                ]) }}
            {%- endfor %}
        end as console_url
    from queries
    left join nodes on queries.node_id = nodes.node_id
)

select * from final
