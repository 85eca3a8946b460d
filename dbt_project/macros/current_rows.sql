{#-
    The body of a table's "current rows" view: the rows of its staging model (`stg_ft42__<table>`)
    that its reference listing returned, or a later listing did. A row the reference listing
    left out and no later listing returned has gone (deleted, left the cursus). `reference` is
    the reference's load id as SQL; by default the newest complete full listing's
    (`reference_listing`), for a big table its newest complete pass's (`completed_pass_reference`).
-#}
{% macro current_rows(table_name, reference=none) -%}
-- One select, no CTE: PostgreSQL flattens only a view without CTEs into the query that reads it.
select staged.*
from {{ ref('stg_ft42__' ~ table_name) }} as staged
where staged.load_id >= {{ reference or reference_listing(table_name) }}
{%- endmacro %}
