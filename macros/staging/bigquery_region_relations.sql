{#
    bigquery_region_relations(source_relation) -> one entry per BigQuery project x region the
    package reads, in order: {'project': ..., 'region': ... (lower case), 'relation': source_relation
    moved to that project and to the schema dbt_pipeline_costs_bigquery_schema_prefix ~ region}.
    Projects: dbt_pipeline_costs_bigquery_projects, or the source's own database when that is empty;
    regions: dbt_pipeline_costs_bigquery_regions. The one place the region-qualified
    INFORMATION_SCHEMA views (JOBS_BY_PROJECT, TABLE_STORAGE) are fanned out; the staging models union
    one select per entry.
#}
{% macro bigquery_region_relations(source_relation) -%}
    {%- set projects = var('dbt_pipeline_costs_bigquery_projects') or [source_relation.database] -%}
    {%- set reads = [] -%}
    {%- for project in projects -%}
        {%- for region in var('dbt_pipeline_costs_bigquery_regions') -%}
            {%- do reads.append({
                'project': project,
                'region': region | lower,
                'relation': source_relation.incorporate(path={
                    'database': project,
                    'schema': var('dbt_pipeline_costs_bigquery_schema_prefix') ~ region,
                }),
            }) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(reads) }}
{%- endmacro %}
