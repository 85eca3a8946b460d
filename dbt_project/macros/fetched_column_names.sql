{#-
    The names of the columns `model_name` declares that the API supplies (not `meta: {made_by:
    dbt}`), quoted, comma-separated, in declared order: the columns its staging model selects
    (`declared_columns`) and a mart compares. `*` at parse time.
-#}
{% macro fetched_column_names(model_name) -%}
    {%- if execute -%}
        {%- set model = graph.nodes.values() | selectattr("resource_type", "equalto", "model")
            | selectattr("name", "equalto", model_name) | first -%}
        {%- if not model -%}
            {{ exceptions.raise_compiler_error("fetched_column_names: no model named " ~ model_name) }}
        {%- endif -%}
        {%- set names = [] -%}
        {%- for column in model.columns.values() if column.meta.made_by != "dbt" -%}
            {%- do names.append(adapter.quote(column.name)) -%}
        {%- endfor -%}
        {{ names | join(", ") }}
    {%- else -%}
        *
    {%- endif -%}
{%- endmacro %}
