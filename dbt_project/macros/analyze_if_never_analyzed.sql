{#-
    ANALYZE `relation` (just `column`, which is cheap) unless it has statistics already.
    A table dbt has just created has none until autovacuum gets to it, minutes later; planning
    the next run against it, PostgreSQL picked a nested loop over the whole snapshot.
-#}
{% macro analyze_if_never_analyzed(relation, column) -%}
    do $$
    begin
        if not exists (
            select from pg_stats
            where schemaname = '{{ relation.schema }}' and tablename = '{{ relation.identifier }}'
                and attname = '{{ column }}'
        ) then
            analyze {{ relation }} ({{ column }});
        end if;
    end
    $$
{%- endmacro %}
