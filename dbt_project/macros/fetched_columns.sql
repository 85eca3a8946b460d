{#-
    The graph node of the model named `model_name` (execution time only: the graph is empty at
    parse time); a compilation error when there is none.
-#}
{% macro model_node(model_name) -%}
    {%- set model = graph.nodes.values() | selectattr("resource_type", "equalto", "model")
        | selectattr("name", "equalto", model_name) | first -%}
    {%- if not model -%}
        {{ exceptions.raise_compiler_error("no model named " ~ model_name) }}
    {%- endif -%}
    {%- do return(model) -%}
{%- endmacro %}

{#-
    The columns `model_name` declares in its yml that the API supplies (not `meta: {made_by:
    dbt}`), in declared order, as the graph's column entries (name, data_type, meta).
-#}
{% macro fetched_columns(model_name) -%}
    {%- set columns = [] -%}
    {%- for column in model_node(model_name).columns.values() if column.meta.made_by != "dbt" -%}
        {%- do columns.append(column) -%}
    {%- endfor -%}
    {%- do return(columns) -%}
{%- endmacro %}
