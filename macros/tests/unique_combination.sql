{#
    unique_combination: no two rows share the same values of `columns` (a composite primary key),
    and none of them is NULL. The package has no dbt package dependencies, so this is its own.
#}
{% test unique_combination(model, columns) %}
    select
        {{ columns | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1 or {% for column in columns %}{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
