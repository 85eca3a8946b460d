{#-
    The names of the columns `model_name` declares that the API supplies (not `meta: {made_by:
    dbt}`), quoted, comma-separated, in declared order: the columns its staging model selects
    (`declared_columns`) and a mart compares. `*` at parse time.
-#}
{% macro fetched_column_names(model_name) -%}
    {%- if execute -%}
        {%- set names = [] -%}
        {%- for column in fetched_columns(model_name) -%}
            {%- do names.append(adapter.quote(column.name)) -%}
        {%- endfor -%}
        {{ names | join(", ") }}
    {%- else -%}
        *
    {%- endif -%}
{%- endmacro %}
