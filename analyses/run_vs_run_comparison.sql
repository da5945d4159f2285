{#-
    Two runs of a pipeline side by side, node by node: what each node cost in run A and in run B,
    the change, and the nodes only one of the runs has. Compile with

        dbt compile --select run_vs_run_comparison --vars '{dbt_pipeline_costs_analysis_pipeline_id: daily_finance,
            dbt_pipeline_costs_run_a: "scheduled__2026-11-18T05:00:00+00:00",
            dbt_pipeline_costs_run_b: "scheduled__2026-11-19T05:00:00+00:00"}'

    and run the SQL in target/compiled/ (or paste it into a BI tool). A pipeline run id is unique only
    within its pipeline, so the run ids need the pipeline. Without run B: the pipeline's latest run;
    without run A: the run before B. Without any of the three: every pipeline's latest run against the
    run before it. No rows: no such run.

    The rows of a pair add up to each run's total_cost in pipeline_cost_history exactly: a node's cost
    is summed over the run's invocations (model_costs), and the dbt cost of the run that names no
    node (hooks, operations, job compute not split over nodes) is the row '(no node)'.
-#}
{%- set pipeline_id = dbt_pipeline_costs.analysis_text_var('dbt_pipeline_costs_analysis_pipeline_id') -%}
{%- set run_a = dbt_pipeline_costs.analysis_text_var('dbt_pipeline_costs_run_a') -%}
{%- set run_b = dbt_pipeline_costs.analysis_text_var('dbt_pipeline_costs_run_b') -%}
{#- Checked when compiling only (execute): a wrong var never stops `dbt parse` or a build. -#}
{%- if execute and (run_a or run_b) and not pipeline_id -%}
    {{ exceptions.raise_compiler_error(
        "dbt_pipeline_costs: set --vars '{dbt_pipeline_costs_analysis_pipeline_id: ..., dbt_pipeline_costs_run_a: ..., "
        ~ "dbt_pipeline_costs_run_b: ...}' to compare two runs (a pipeline run id is unique only within its pipeline)"
    ) }}
{%- endif -%}
{%- set zero = dbt_pipeline_costs.money('0') %}

with

runs as (
    {{ dbt_pipeline_costs.analysis_runs(pipeline_id) }}
),

pairs as (
    {#- A given run A must exist; the run before B may not (B is the pipeline's first run). #}
    select
        run_b.pipeline_id,
        run_a.pipeline_run_id as pipeline_run_id_a,
        run_b.pipeline_run_id as pipeline_run_id_b,
        coalesce(run_a.total_cost, {{ zero }}) as total_cost_a,
        run_b.total_cost as total_cost_b,
        run_b.currency,
        coalesce(run_a.query_count, 0) as query_count_a,
        run_b.query_count as query_count_b,
        run_a.bytes_billed as bytes_billed_a,
        run_b.bytes_billed as bytes_billed_b
    from runs as run_b
    {{ 'inner' if run_a else 'left' }} join runs as run_a
        on
            run_b.pipeline_id = run_a.pipeline_id
            {%- if run_a %}
            and run_a.pipeline_run_id = '{{ dbt_pipeline_costs.escape_string_literal(run_a) }}'
            {%- else %}
            and run_a.recency = run_b.recency + 1
            {%- endif %}
    {%- if run_b %}
    where run_b.pipeline_run_id = '{{ dbt_pipeline_costs.escape_string_literal(run_b) }}'
    {%- else %}
    where run_b.recency = 1
    {%- endif %}
),

results as (
    {#- A node can have several results in a run (one per invocation): the latest gives its status. #}
    select
        pairs.pipeline_id,
        pairs.pipeline_run_id_a,
        pairs.pipeline_run_id_b,
        model_costs.pipeline_run_id,
        model_costs.node_id,
        model_costs.resource_type,
        model_costs.status,
        model_costs.cost,
        model_costs.query_count,
        model_costs.bytes_billed,
        model_costs.execution_time_s,
        row_number() over (
            partition by model_costs.pipeline_id, model_costs.pipeline_run_id, model_costs.node_id
            order by
                coalesce(model_costs.execute_completed_at, model_costs.last_ended_at) desc nulls last,
                model_costs.invocation_id desc
        ) as result_recency
    from {{ ref('model_costs') }} as model_costs
    inner join pairs
        on
            model_costs.pipeline_id = pairs.pipeline_id
            and (
                model_costs.pipeline_run_id = pairs.pipeline_run_id_a
                or model_costs.pipeline_run_id = pairs.pipeline_run_id_b
            )
),

nodes as (
    select
        results.pipeline_id,
        results.node_id,
        min(results.resource_type) as resource_type,
        {%- for side in ['a', 'b'] %}
        {%- set in_run = 'results.pipeline_run_id = results.pipeline_run_id_' ~ side %}
        sum(case when {{ in_run }} then 1 else 0 end) as result_count_{{ side }},
        max(case when {{ in_run }} and results.result_recency = 1 then results.status end) as status_{{ side }},
        coalesce(sum(case when {{ in_run }} then results.cost end), {{ zero }}) as cost_{{ side }},
        coalesce(sum(case when {{ in_run }} then results.query_count end), 0) as query_count_{{ side }},
        sum(case when {{ in_run }} then results.bytes_billed end) as bytes_billed_{{ side }},
        sum(case when {{ in_run }} then results.execution_time_s end) as execution_time_s_{{ side }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from results
    group by results.pipeline_id, results.node_id
),

node_totals as (
    select
        nodes.pipeline_id,
        sum(nodes.cost_a) as cost_a,
        sum(nodes.cost_b) as cost_b,
        sum(nodes.query_count_a) as query_count_a,
        sum(nodes.query_count_b) as query_count_b,
        sum(nodes.bytes_billed_a) as bytes_billed_a,
        sum(nodes.bytes_billed_b) as bytes_billed_b
    from nodes
    group by nodes.pipeline_id
),

no_node as (
    {#- What the run's total has beyond its nodes: dbt cost that names no node. #}
    select
        pairs.pipeline_id,
        {%- for side in ['a', 'b'] %}
        pairs.total_cost_{{ side }} - coalesce(node_totals.cost_{{ side }}, {{ zero }}) as cost_{{ side }},
        pairs.query_count_{{ side }} - coalesce(node_totals.query_count_{{ side }}, 0) as query_count_{{ side }},
        pairs.bytes_billed_{{ side }} - coalesce(node_totals.bytes_billed_{{ side }}, 0) as bytes_billed_{{ side }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from pairs
    left join node_totals on pairs.pipeline_id = node_totals.pipeline_id
),

compared as (
    select
        nodes.pipeline_id,
        nodes.node_id,
        nodes.resource_type,
        nodes.result_count_a > 0 as is_in_a,
        nodes.result_count_b > 0 as is_in_b,
        nodes.status_a,
        nodes.status_b,
        nodes.cost_a,
        nodes.cost_b,
        nodes.query_count_a,
        nodes.query_count_b,
        nodes.bytes_billed_a,
        nodes.bytes_billed_b,
        nodes.execution_time_s_a,
        nodes.execution_time_s_b
    from nodes
    union all
    select
        no_node.pipeline_id,
        '(no node)' as node_id,
        cast(null as {{ dbt.type_string() }}) as resource_type,
        no_node.cost_a <> {{ zero }} or no_node.query_count_a <> 0 as is_in_a,
        no_node.cost_b <> {{ zero }} or no_node.query_count_b <> 0 as is_in_b,
        cast(null as {{ dbt.type_string() }}) as status_a,
        cast(null as {{ dbt.type_string() }}) as status_b,
        no_node.cost_a,
        no_node.cost_b,
        no_node.query_count_a,
        no_node.query_count_b,
        no_node.bytes_billed_a,
        no_node.bytes_billed_b,
        {#- An untyped NULL takes the other branch's type (BigQuery has no DECIMAL(38, 3)). #}
        null as execution_time_s_a,
        null as execution_time_s_b
    from no_node
    where
        no_node.cost_a <> {{ zero }}
        or no_node.cost_b <> {{ zero }}
        or no_node.query_count_a <> 0
        or no_node.query_count_b <> 0
),

final as (
    select
        pairs.pipeline_id,
        pairs.pipeline_run_id_a,
        pairs.pipeline_run_id_b,
        compared.node_id,
        compared.resource_type,
        case
            when compared.is_in_a and compared.is_in_b then 'both'
            when compared.is_in_a then 'only_a'
            else 'only_b'
        end as presence,
        compared.status_a,
        compared.status_b,
        compared.cost_a,
        compared.cost_b,
        compared.cost_b - compared.cost_a as cost_change,
        case
            when compared.cost_a > 0
                then {{ dbt_pipeline_costs.ratio('(compared.cost_b - compared.cost_a) * 100', 'compared.cost_a') }}
        end as cost_change_pct,
        pairs.currency,
        compared.query_count_a,
        compared.query_count_b,
        compared.bytes_billed_a,
        compared.bytes_billed_b,
        compared.execution_time_s_a,
        compared.execution_time_s_b,
        pairs.total_cost_a as run_total_cost_a,
        pairs.total_cost_b as run_total_cost_b
    from compared
    inner join pairs on compared.pipeline_id = pairs.pipeline_id
)

select * from final
order by pipeline_id asc, abs(cost_change) desc, node_id asc
