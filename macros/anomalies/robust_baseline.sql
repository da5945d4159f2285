{#
    robust_baseline(series, series_key, window_runs) -> a select with one row per row of `series`
    that has at least one earlier row in its series: the median and the median absolute deviation
    (MAD) of `cost` over the previous window_runs rows of the same series (docs/cost-rules.md
    section 13).

    `series` names a relation or CTE with the columns
      <series_key>     the columns naming a series (a list; never NULL),
      series_position  1, 2, 3, ... in run order within the series (no gaps),
      cost             money (money_type()).
    Output columns: the series_key columns, series_position, history_runs (earlier rows used, 1..window_runs),
    baseline_median_cost, baseline_mad_cost, baseline_min_cost, baseline_max_cost (money), baseline_deviation_sum (money: the sum of the
    earlier rows' absolute deviations from the median, for the mean-absolute-deviation fallback).

    Medians are exact on every adapter and need no MEDIAN aggregate or framed percentile (BigQuery
    has neither): each row is joined to its previous rows by position (an equi-join on series and
    position bucket), the earlier costs are ranked with row_number(), and the median is the middle
    one (odd count) or the mean of the two middle ones (even count, money_midpoint()). The same again
    over the absolute deviations gives the MAD. Work is linear: rows x window_runs.
#}
{% macro robust_baseline(series, series_key, window_runs) -%}
    {{ return(adapter.dispatch('robust_baseline', 'dbt_pipeline_costs')(series, series_key, window_runs)) }}
{%- endmacro %}

{% macro default__robust_baseline(series, series_key, window_runs) -%}
    {%- set row_key = series_key + ['series_position'] -%}
    {%- set bucket = 'cast(floor(%s.series_position / ' ~ window_runs ~ ') as ' ~ dbt.type_bigint() ~ ')' -%}
    with

    {#- A row at position p is in the window of the rows p + 1 .. p + window_runs, which lie in its
        bucket (position / window_runs) or the next: each row is offered to both, so the join is on
        equality (series, bucket) and reads at most 2 x window_runs candidates per row - linear in
        the series' length, where a join on the series alone would pair every two runs of it. #}
    baseline_candidates as (
        select
            {{ dbt_pipeline_costs._qualified(series_key, 'series_rows') }},
            series_rows.series_position,
            series_rows.cost,
            {{ bucket | format('series_rows') }} as serves_bucket
        from {{ series }} as series_rows
        union all
        select
            {{ dbt_pipeline_costs._qualified(series_key, 'series_rows') }},
            series_rows.series_position,
            series_rows.cost,
            {{ bucket | format('series_rows') }} + 1 as serves_bucket
        from {{ series }} as series_rows
    ),

    baseline_pairs as (
        select
            {{ dbt_pipeline_costs._qualified(row_key, 'current_run') }},
            earlier_run.cost as earlier_cost,
            row_number() over (
                partition by {{ dbt_pipeline_costs._qualified(row_key, 'current_run') }}
                order by earlier_run.cost
            ) as cost_rank,
            count(*) over (partition by {{ dbt_pipeline_costs._qualified(row_key, 'current_run') }}) as history_runs
        from {{ series }} as current_run
        inner join baseline_candidates as earlier_run
            on
                {% for column in series_key -%}
                current_run.{{ column }} = earlier_run.{{ column }}
                and {% endfor -%}
                {{ bucket | format('current_run') }} = earlier_run.serves_bucket
                and earlier_run.series_position < current_run.series_position
                and earlier_run.series_position >= current_run.series_position - {{ window_runs }}
    ),

    {#- The middle ranks: 2 x rank in (n, n + 1, n + 2) is the one middle rank of an odd count and
        the two of an even count. #}
    baseline_medians as (
        select
            {{ dbt_pipeline_costs._qualified(row_key, 'baseline_pairs') }},
            baseline_pairs.history_runs,
            {{ dbt_pipeline_costs.money_midpoint(
                'min(case when baseline_pairs.cost_rank * 2 between baseline_pairs.history_runs'
                ~ ' and baseline_pairs.history_runs + 2 then baseline_pairs.earlier_cost end)',
                'max(case when baseline_pairs.cost_rank * 2 between baseline_pairs.history_runs'
                ~ ' and baseline_pairs.history_runs + 2 then baseline_pairs.earlier_cost end)'
            ) }} as baseline_median_cost,
            min(baseline_pairs.earlier_cost) as baseline_min_cost,
            max(baseline_pairs.earlier_cost) as baseline_max_cost
        from baseline_pairs
        group by {{ dbt_pipeline_costs._qualified(row_key, 'baseline_pairs') }}, baseline_pairs.history_runs
    ),

    baseline_deviations as (
        select
            {{ dbt_pipeline_costs._qualified(row_key, 'baseline_medians') }},
            baseline_medians.history_runs,
            baseline_medians.baseline_median_cost,
            baseline_medians.baseline_min_cost,
            baseline_medians.baseline_max_cost,
            abs({{ dbt_pipeline_costs.money_difference(
                'baseline_pairs.earlier_cost', 'baseline_medians.baseline_median_cost'
            ) }}) as deviation
        from baseline_pairs
        inner join baseline_medians
            on
                {% for column in row_key -%}
                baseline_pairs.{{ column }} = baseline_medians.{{ column }}{{ ' and' if not loop.last }}
                {% endfor %}
    ),

    baseline_deviations_ranked as (
        select
            baseline_deviations.*,
            row_number() over (
                partition by {{ dbt_pipeline_costs._qualified(row_key, 'baseline_deviations') }}
                order by baseline_deviations.deviation
            ) as deviation_rank
        from baseline_deviations
    )

    select
        {{ dbt_pipeline_costs._qualified(row_key, 'baseline_deviations_ranked') }},
        baseline_deviations_ranked.history_runs,
        baseline_deviations_ranked.baseline_median_cost,
        baseline_deviations_ranked.baseline_min_cost,
        baseline_deviations_ranked.baseline_max_cost,
        {{ dbt_pipeline_costs.money_midpoint(
            'min(case when baseline_deviations_ranked.deviation_rank * 2 between baseline_deviations_ranked.history_runs'
            ~ ' and baseline_deviations_ranked.history_runs + 2 then baseline_deviations_ranked.deviation end)',
            'max(case when baseline_deviations_ranked.deviation_rank * 2 between baseline_deviations_ranked.history_runs'
            ~ ' and baseline_deviations_ranked.history_runs + 2 then baseline_deviations_ranked.deviation end)'
        ) }} as baseline_mad_cost,
        {{ dbt_pipeline_costs.money('sum(baseline_deviations_ranked.deviation)') }} as baseline_deviation_sum
    from baseline_deviations_ranked
    group by
        {{ dbt_pipeline_costs._qualified(row_key, 'baseline_deviations_ranked') }},
        baseline_deviations_ranked.history_runs,
        baseline_deviations_ranked.baseline_median_cost,
        baseline_deviations_ranked.baseline_min_cost,
        baseline_deviations_ranked.baseline_max_cost
{%- endmacro %}

{#- _qualified(columns, alias) -> 'alias.a, alias.b, ...' #}
{% macro _qualified(columns, alias) -%}
    {%- for column in columns -%}{{ alias }}.{{ column }}{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro %}

{#
    money_midpoint(a, b) -> (a + b) / 2 as money, rounded half away from zero to the money scale
    (exactly a when a = b).
#}
{% macro money_midpoint(a, b) -%}
    {{ return(adapter.dispatch('money_midpoint', 'dbt_pipeline_costs')(a, b)) }}
{%- endmacro %}

{% macro default__money_midpoint(a, b) -%}
    {{ dbt_pipeline_costs.money('((' ~ a ~ ') + (' ~ b ~ ')) * 0.5') }}
{%- endmacro %}

{% macro spark__money_midpoint(a, b) -%}
    {#- Spark / Databricks: DECIMAL(38, 18) + DECIMAL(38, 18) keeps only 17 decimals (the sum would
        need 39 digits). Narrowed to DECIMAL(28, 18) (10 integer digits) the sum and the halving stay exact. -#}
    cast((cast({{ a }} as decimal(28, 18)) + cast({{ b }} as decimal(28, 18))) * 0.5 as decimal(38, 18))
{%- endmacro %}

{#- money_difference(a, b) -> a - b as money, exact. -#}
{% macro money_difference(a, b) -%}
    {{ return(adapter.dispatch('money_difference', 'dbt_pipeline_costs')(a, b)) }}
{%- endmacro %}

{% macro default__money_difference(a, b) -%}
    {{ dbt_pipeline_costs.money('(' ~ a ~ ') - (' ~ b ~ ')') }}
{%- endmacro %}

{% macro spark__money_difference(a, b) -%}
    {#- Spark / Databricks: DECIMAL(38, 18) - DECIMAL(38, 18) keeps only 17 decimals; narrowed as in money_midpoint. -#}
    cast(cast({{ a }} as decimal(28, 18)) - cast({{ b }} as decimal(28, 18)) as decimal(38, 18))
{%- endmacro %}

{#
    money_text(amount) -> the amount rounded half away from zero to 2 decimals, as text with exactly
    2 decimals ('1234.50'); for explanations only, never for a money column.
#}
{% macro money_text(amount) -%}
    {{ return(adapter.dispatch('money_text', 'dbt_pipeline_costs')(amount)) }}
{%- endmacro %}

{% macro default__money_text(amount) -%}
    cast(cast(round({{ amount }}, 2) as decimal(38, 2)) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro bigquery__money_text(amount) -%}
    {#- BigQuery: NUMERIC(38, 2) is not a valid type (at most 29 integer digits) and CAST(NUMERIC AS
        STRING) drops trailing zeros; the amount is rounded exactly first, then printed with 2 decimals. -#}
    format('%.2f', cast(round({{ amount }}, 2) as float64))
{%- endmacro %}

{#- signed_money_text(amount) -> '+' or '-' and money_text() of the absolute amount ('+2.40', '-0.15'). -#}
{% macro signed_money_text(amount) -%}
    case when {{ amount }} < 0 then '-' else '+' end || {{ dbt_pipeline_costs.money_text('abs(' ~ amount ~ ')') }}
{%- endmacro %}
