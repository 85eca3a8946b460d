{#-
    The select list that turns a raw table's row into the columns a model declares in its yml
    (the one place a column is written): each column the API supplies, in declared order, read
    from its raw column and cast to its declared `data_type`. Columns the models make themselves
    (`meta: {made_by: dbt}`) are left out.
    A column's raw name is dlt's: the `__`-joined path of a nested field (`meta: {api: a.b}`),
    else the column's own name (a renamed top-level key such as `staff?` keeps the model's name;
    pipelines/ft42/declaration.py applies the same rule when it declares the raw table).
    An array column (`data_type` ending in `[]`, `bigint[]`) is fetched as JSON text (`[21, 9]`):
    for numbers and booleans the JSON is the array literal with brackets for braces (`{21, 9}`),
    a plain function of the row: a per-row subquery (`jsonb_array_elements_text`) would run for
    every row of the table in each anti-join on id, whose views PostgreSQL does not flatten.
    A null stays null.
    The declaration is read from the graph at execution time; at parse time dbt only needs
    valid SQL, so it renders `*`.
-#}
{% macro declared_columns(model_name) -%}
    {%- if execute -%}
        {%- set selected = [] -%}
        {%- for column in fetched_columns(model_name) -%}
            {%- set path = (column.meta.api or column.name).split(".") -%}
            {%- set raw_name = path | join("__") if path | length > 1 else column.name -%}
            {%- if column.data_type.endswith("[]") -%}
                {%- if column.data_type[:-2] not in ("bigint", "integer", "numeric", "boolean") -%}
                    {{ exceptions.raise_compiler_error("declared_columns: " ~ model_name ~ "." ~ column.name
                        ~ " is " ~ column.data_type ~ "; only arrays of numbers or booleans are read from JSON") }}
                {%- endif -%}
                {%- set value = "translate(" ~ adapter.quote(raw_name) ~ ", '[]', '{}')" -%}
            {%- else -%}
                {%- set value = adapter.quote(raw_name) -%}
            {%- endif -%}
            {%- do selected.append(value ~ "::" ~ column.data_type ~ " as " ~ adapter.quote(column.name)) -%}
        {%- endfor -%}
        {{ selected | join(",\n        ") }}
    {%- else -%}
        *
    {%- endif -%}
{%- endmacro %}
