{#- Fails on every row of the model for which the SQL expression is false. -#}
{% test expression_is_true(model, expression) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}
