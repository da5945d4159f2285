{#
    conservation: every row's total equals the sum of its parts, exactly (no tolerance: money is
    exact decimal). Fails with the rows that do not add up.

        tests:
          - dbt_pipeline_costs.conservation:
              total: billed_cost
              parts: [attributed_cost, unattributed_not_dbt_cost, ...]
#}
{% test conservation(model, total, parts) %}
    select *
    from {{ model }}
    where
        {{ total }} is null
        or {{ total }} <> {% for part in parts %}coalesce({{ part }}, 0){{ ' + ' if not loop.last }}{% endfor %}
{% endtest %}

{#
    sums_match: the sum of a column equals the sum of a column of another model, overall or per
    group (exactly). Used to prove that no money is lost or counted twice between marts.
    model_where / to_where filter each side (not `where`: dbt takes that as the test's own config,
    which cannot call the package's macros); to_group_by gives the other side's expression for each
    group_by key when it is named differently there (same order).

        tests:
          - dbt_pipeline_costs.sums_match:
              column: total_cost
              to: ref('query_costs')
              to_column: cost
              to_where: "is_dbt"
              group_by: [currency]
#}
{% test sums_match(model, column, to, to_column, model_where=none, to_where=none, group_by=[], to_group_by=none) %}
    {%- set keys = group_by | join(', ') -%}
    {%- set to_keys = to_group_by if to_group_by is not none else group_by -%}
    {%- if to_keys | length != group_by | length -%}
        {{ exceptions.raise_compiler_error("dbt_pipeline_costs.sums_match: to_group_by needs one expression per group_by key") }}
    {%- endif %}

    with

    left_side as (
        select {% if keys %}{{ keys }}, {% endif %}sum({{ column }}) as total
        from {{ model }}
        {% if model_where %}where {{ model_where }}{% endif %}
        {% if keys %}group by {{ keys }}{% endif %}
    ),

    right_side as (
        select
            {%- for expression in to_keys %}
            {{ expression }} as {{ group_by[loop.index0] }},
            {%- endfor %}
            sum({{ to_column }}) as total
        from {{ to }}
        {% if to_where %}where {{ to_where }}{% endif %}
        {% if keys %}group by {{ to_keys | join(', ') }}{% endif %}
    ),

    compared as (
        select
            {%- for key in group_by %}
            coalesce(left_side.{{ key }}, right_side.{{ key }}) as {{ key }},
            {%- endfor %}
            left_side.total as model_total,
            right_side.total as compared_total
        from left_side
        full outer join right_side
            on {% for key in group_by %}left_side.{{ key }} = right_side.{{ key }}{{ ' and ' if not loop.last }}{% else %}1 = 1{% endfor %}
    )

    select *
    from compared
    where coalesce(model_total, 0) <> coalesce(compared_total, 0)
{% endtest %}
