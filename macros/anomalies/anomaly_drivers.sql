{#
    anomaly_drivers(scored, window_runs) -> a select with one row per anomalous pipeline run x
    model (node) built in that run or in any run of its baseline window: what the node cost in the
    run, its median over the window runs (0 for a window run that did not build it), the change
    and its rank (docs/cost-rules.md section 13, Drivers).

    `scored` names a relation or CTE with cost_anomalies' columns entity_type, pipeline_id,
    pipeline_run_id, invocation_id, node_id, run_started_at, cost (money), is_anomaly and
    anomaly_kind: the pipeline runs of each pipeline's series and the model builds, as
    cost_anomalies scores them (the model itself, or its `judged` CTE).
    Output columns: pipeline_id, pipeline_run_id, node_id, window_runs, cost, baseline_median_cost,
    cost_change (money), builds_in_run, runs_built_in_window, is_model_anomaly, model_anomaly_kind,
    driver_rank.

    A pipeline run's window is the window_runs runs before it in its pipeline's series (by
    run_started_at, pipeline_run_id: the order cost_anomalies numbers them), exactly the runs its
    own baseline median was computed on. Only anomalous runs are expanded: the work is anomalous
    runs x window runs x nodes. Medians are exact, by row_number() ranks as in robust_baseline().
#}
{% macro anomaly_drivers(scored, window_runs) -%}
    {{ return(adapter.dispatch('anomaly_drivers', 'dbt_pipeline_costs')(scored, window_runs)) }}
{%- endmacro %}

{% macro default__anomaly_drivers(scored, window_runs) -%}
    {%- set run_key = ['pipeline_id', 'pipeline_run_id'] -%}
    {%- set node_key = ['pipeline_id', 'pipeline_run_id', 'node_id'] -%}
    with

    pipeline_series as (
        select
            series_runs.pipeline_id,
            series_runs.pipeline_run_id,
            series_runs.is_anomaly,
            row_number() over (
                partition by series_runs.pipeline_id
                order by series_runs.run_started_at, series_runs.pipeline_run_id
            ) as run_position
        from {{ scored }} as series_runs
        where series_runs.entity_type = 'pipeline_run'
    ),

    {#- Each anomalous run with itself (run_offset 0) and its window runs (run_offset 1 .. window_runs). #}
    anomaly_windows as (
        select
            anomalous_runs.pipeline_id,
            anomalous_runs.pipeline_run_id,
            window_members.pipeline_run_id as member_run_id,
            anomalous_runs.run_position - window_members.run_position as run_offset
        from pipeline_series as anomalous_runs
        inner join pipeline_series as window_members
            on
                anomalous_runs.pipeline_id = window_members.pipeline_id
                and window_members.run_position <= anomalous_runs.run_position
                and window_members.run_position >= anomalous_runs.run_position - {{ window_runs }}
        where anomalous_runs.is_anomaly
    ),

    {#- A node's cost in a run: the sum of its builds in that pipeline run (every invocation). #}
    member_node_costs as (
        select
            {{ dbt_pipeline_costs._qualified(run_key, 'anomaly_windows') }},
            anomaly_windows.run_offset,
            builds.node_id,
            {{ dbt_pipeline_costs.money('sum(builds.cost)') }} as node_cost,
            cast(count(*) as {{ dbt.type_bigint() }}) as build_count
        from anomaly_windows
        inner join {{ scored }} as builds
            on
                anomaly_windows.pipeline_id = builds.pipeline_id
                and anomaly_windows.member_run_id = builds.pipeline_run_id
        where builds.entity_type = 'model'
        group by
            {{ dbt_pipeline_costs._qualified(run_key, 'anomaly_windows') }},
            anomaly_windows.run_offset,
            builds.node_id
    ),

    anomaly_nodes as (
        select distinct {{ dbt_pipeline_costs._qualified(node_key, 'member_node_costs') }}
        from member_node_costs
    ),

    {#- Every node x every window run, 0 when the run did not build it, ranked by cost. #}
    window_node_costs as (
        select
            {{ dbt_pipeline_costs._qualified(node_key, 'anomaly_nodes') }},
            coalesce(member_node_costs.node_cost, {{ dbt_pipeline_costs.money('0') }}) as node_cost,
            member_node_costs.build_count is not null as is_built,
            row_number() over (
                partition by {{ dbt_pipeline_costs._qualified(node_key, 'anomaly_nodes') }}
                order by coalesce(member_node_costs.node_cost, {{ dbt_pipeline_costs.money('0') }})
            ) as cost_rank,
            count(*) over (partition by {{ dbt_pipeline_costs._qualified(node_key, 'anomaly_nodes') }}) as window_runs
        from anomaly_nodes
        inner join anomaly_windows
            on
                anomaly_nodes.pipeline_id = anomaly_windows.pipeline_id
                and anomaly_nodes.pipeline_run_id = anomaly_windows.pipeline_run_id
                and anomaly_windows.run_offset > 0
        left join member_node_costs
            on
                anomaly_nodes.pipeline_id = member_node_costs.pipeline_id
                and anomaly_nodes.pipeline_run_id = member_node_costs.pipeline_run_id
                and anomaly_nodes.node_id = member_node_costs.node_id
                and anomaly_windows.run_offset = member_node_costs.run_offset
    ),

    {#- The middle ranks, as in robust_baseline(): 2 x rank in (n, n + 1, n + 2). #}
    node_baselines as (
        select
            {{ dbt_pipeline_costs._qualified(node_key, 'window_node_costs') }},
            cast(window_node_costs.window_runs as {{ dbt.type_bigint() }}) as window_runs,
            {{ dbt_pipeline_costs.money_midpoint(
                'min(case when window_node_costs.cost_rank * 2 between window_node_costs.window_runs'
                ~ ' and window_node_costs.window_runs + 2 then window_node_costs.node_cost end)',
                'max(case when window_node_costs.cost_rank * 2 between window_node_costs.window_runs'
                ~ ' and window_node_costs.window_runs + 2 then window_node_costs.node_cost end)'
            ) }} as baseline_median_cost,
            cast(sum(case when window_node_costs.is_built then 1 else 0 end) as {{ dbt.type_bigint() }})
                as runs_built_in_window
        from window_node_costs
        group by {{ dbt_pipeline_costs._qualified(node_key, 'window_node_costs') }}, window_node_costs.window_runs
    ),

    {#- The node's own anomaly in the run: of several anomalous builds, the earliest one's kind. #}
    model_anomalies as (
        select
            {{ dbt_pipeline_costs._qualified(node_key, 'builds') }},
            builds.anomaly_kind,
            row_number() over (
                partition by {{ dbt_pipeline_costs._qualified(node_key, 'builds') }}
                order by builds.run_started_at, builds.invocation_id
            ) as anomaly_order
        from {{ scored }} as builds
        inner join anomaly_windows
            on
                builds.pipeline_id = anomaly_windows.pipeline_id
                and builds.pipeline_run_id = anomaly_windows.member_run_id
                and anomaly_windows.run_offset = 0
        where builds.entity_type = 'model' and builds.is_anomaly
    ),

    node_changes as (
        select
            {{ dbt_pipeline_costs._qualified(node_key, 'node_baselines') }},
            node_baselines.window_runs,
            coalesce(run_node_costs.node_cost, {{ dbt_pipeline_costs.money('0') }}) as cost,
            node_baselines.baseline_median_cost,
            {{ dbt_pipeline_costs.money_difference(
                'coalesce(run_node_costs.node_cost, ' ~ dbt_pipeline_costs.money('0') ~ ')',
                'node_baselines.baseline_median_cost'
            ) }} as cost_change,
            coalesce(run_node_costs.build_count, 0) as builds_in_run,
            node_baselines.runs_built_in_window,
            model_anomalies.anomaly_kind is not null as is_model_anomaly,
            model_anomalies.anomaly_kind as model_anomaly_kind
        from node_baselines
        left join member_node_costs as run_node_costs
            on
                node_baselines.pipeline_id = run_node_costs.pipeline_id
                and node_baselines.pipeline_run_id = run_node_costs.pipeline_run_id
                and node_baselines.node_id = run_node_costs.node_id
                and run_node_costs.run_offset = 0
        left join model_anomalies
            on
                node_baselines.pipeline_id = model_anomalies.pipeline_id
                and node_baselines.pipeline_run_id = model_anomalies.pipeline_run_id
                and node_baselines.node_id = model_anomalies.node_id
                and model_anomalies.anomaly_order = 1
    )

    select
        node_changes.*,
        cast(row_number() over (
            partition by {{ dbt_pipeline_costs._qualified(run_key, 'node_changes') }}
            order by abs(node_changes.cost_change) desc, node_changes.node_id asc
        ) as {{ dbt.type_bigint() }}) as driver_rank
    from node_changes
{%- endmacro %}
