{#- Fails on every combination of `columns` that more than one row of the model holds. -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(", ") }}, count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(", ") }}
    having count(*) > 1
{% endtest %}
