{#-
    One row per invocation x node result uploaded by upload_run_results(), with its status class
    and build_after in seconds (docs/cost-rules.md sections 7 and 9). A result uploaded twice
    counts once: the row with the latest execute_completed_at wins.
-#}
{%- set columns = dbt_pipeline_costs.run_results_columns('dbt_node_results') | map(attribute=0) | list %}

with

results as (
    select * from {{ ref('dbt_node_results') }}
    where invocation_id is not null and node_id is not null
),

ranked as (
    select
        results.*,
        row_number() over (
            partition by results.invocation_id, results.node_id
            order by results.execute_completed_at desc nulls last, results.status asc
        ) as upload_rank
    from results
),

final as (
    select
        {%- for column in columns %}
        ranked.{{ column }},
        {%- endfor %}
        {{ dbt_pipeline_costs.status_class('ranked.status') }} as status_class,
        ranked.build_after_count * case lower(ranked.build_after_period)
            when 'minute' then 60
            when 'hour' then 3600
            when 'day' then 86400
        end as build_after_s
    from ranked
    where ranked.upload_rank = 1
)

select * from final
