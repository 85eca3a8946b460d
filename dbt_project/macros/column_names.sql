{#- The relation's column names, comma-separated, in its own order, without those in `except`. -#}
{% macro column_names(relation, except=[]) -%}
    {%- if execute -%}
        {%- set names = [] -%}
        {%- for column in adapter.get_columns_in_relation(relation) if column.name not in except -%}
            {%- do names.append(adapter.quote(column.name)) -%}
        {%- endfor -%}
        {{ names | join(", ") }}
    {%- else -%}
        *
    {%- endif -%}
{%- endmacro %}
