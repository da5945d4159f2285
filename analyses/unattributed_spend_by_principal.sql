{#-
    Who spends the money dbt does not explain: unattributed cost per principal and reason over the
    last 30 billing days. Compile with `dbt compile --select unattributed_spend_by_principal` and run
    the SQL in target/compiled/ (or paste it into a BI tool).
-#}

with

queries as (
    select * from {{ ref('query_costs') }}
    where
        attribution <> 'attributed'
        and cost_date >= cast({{ dbt.dateadd('day', -30, dbt.current_timestamp()) }} as date)
),

final as (
    select
        queries.platform,
        queries.user_email,
        queries.attribution,
        queries.currency,
        count(*) as query_count,
        sum(queries.cost) as cost
    from queries
    group by queries.platform, queries.user_email, queries.attribution, queries.currency
)

select * from final
order by cost desc
