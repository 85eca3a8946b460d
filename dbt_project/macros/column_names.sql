{#- The relation's column names, comma-separated, in its own order. -#}
{% macro column_names(relation) -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {{ adapter.quote(column.name) }}{{ ", " if not loop.last }}
        {%- endfor -%}
    {%- else -%}
        *
    {%- endif -%}
{%- endmacro %}
