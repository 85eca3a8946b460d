{#-
    dbt's hook for a data test's `where` config, with a placeholder for the tests that gate a
    big table (on `int_ft42__current_<table>`), whose cost must follow the change:
    `__new_to_the_mart__` becomes the rows that can be new to the mart: those listed since it was
    last published (`load_id` above `last_published_load`), or every row when its basis moved
    (`basis_unchanged`; rows can then become current without being listed again). An older row
    has not changed since a build that tested it and published. The placeholder is replaced
    when the test runs (a `where` is rendered at parse time, before the ledger can be read).
    Any other `where` is used as written.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == '__new_to_the_mart__' -%}
        {%- set table_name = relation.identifier.replace('int_ft42__current_', '', 1) -%}
        {%- set listed_since = 'load_id > ' ~ last_published_load(table_name) -%}
        {#- Two branches rather than one `or`: the first reads a range of the raw table's load id
            index (`load_id_index`), the second nothing unless the basis moved (a one-time filter). -#}
        {%- do return("(select * from " ~ relation ~ " where " ~ listed_since
            ~ " union all select * from " ~ relation ~ " where not (" ~ listed_since ~ ") and not "
            ~ basis_unchanged(table_name, mirror_basis(table_name)) ~ ") dbt_subquery") -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ where ~ ") dbt_subquery") -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
