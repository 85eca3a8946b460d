{#-
    What decides which rows a big table's mart holds, apart from the rows listed since its last
    publication (`mirrored_changes`), as one text value: the load id of its reference (its newest
    complete pass, `completed_pass_reference`) and, for each other raw table its current rows are
    filtered by (the raw `cursus_users` of achievements_users' enrolled users, read from the
    dependencies of `int_ft42__current_<table>`), that table's reference listing and the newest
    load in its raw table. Raw rows are never deleted and a row's load id only grows, so while
    this value stays the same the current set only gains the rows listed since: no row can have
    left, and no row can have joined without being listed. `record_basis` stores it with each
    publication; `basis_unchanged` compares.
-#}
{% macro mirror_basis(table_name) -%}
    {%- set filtered_by = [] -%}
    {%- if execute -%}
        {%- for node_id in model_node("int_ft42__current_" ~ table_name).depends_on.nodes
            if node_id.startswith("source.ft42.ft42.") and node_id.split(".")[-1] != table_name -%}
            {%- do filtered_by.append(node_id.split(".")[-1]) -%}
        {%- endfor -%}
    {%- endif -%}
    concat_ws(' ', {{ completed_pass_reference(table_name) }}
    {%- for other in filtered_by -%}
        , {{ reference_listing(other) }},
        (select max(raw_rows._dlt_load_id::numeric) from {{ source('ft42', other) }} as raw_rows)
    {%- endfor -%}
    )
{%- endmacro %}
