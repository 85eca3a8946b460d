{#-
    The relation's column names, comma-separated, in its own order, without those in `except`;
    `*` where they cannot be known (at parse time, or before the relation exists).
-#}
{% macro column_names(relation, except=[]) -%}
    {%- if execute -%}
        {%- set names = [] -%}
        {%- for column in adapter.get_columns_in_relation(relation) if column.name not in except -%}
            {%- do names.append(adapter.quote(column.name)) -%}
        {%- endfor -%}
        {{ names | join(", ") or "*" }}
    {%- else -%}
        *
    {%- endif -%}
{%- endmacro %}
