{#-
    A post-hook of a big mart (kept by `mirrored_changes`): store in this sync's (FT42_RUN_ID)
    `sync_tables` row the basis (`mirror_basis`) the build used, in the model's own transaction,
    with the `published_at` that `record_publication` sets. The next build compares it
    (`basis_unchanged`).
-#}
{% macro record_basis(table_name) -%}
    {%- set run_id = env_var('FT42_RUN_ID', '') -%}
    {%- if run_id -%}
        update {{ source('ft42_sync', 'sync_tables') }} set basis = {{ mirror_basis(table_name) }}
        where run_id = {{ run_id | int }} and table_name = '{{ table_name }}'
    {%- else -%}
        select 'run outside a sync: no ledger row to mark'
    {%- endif -%}
{%- endmacro %}
