{#-
    Mark in the ledger that this sync (FT42_RUN_ID) published the mart being built: its
    `sync_tables` row, and the run's `sync_runs` row (first publication of the run). A post-hook:
    it commits with the model's own transaction, so the ledger says a listing reached its table
    exactly when it did, even if the sync fails or is killed right after.
-#}
{% macro record_publication() -%}
    {%- set run_id = env_var('FT42_RUN_ID', '') -%}
    {%- if run_id -%}
        update {{ source('ft42_sync', 'sync_tables') }} set published_at = now()
        where run_id = {{ run_id | int }} and table_name = '{{ this.identifier }}';
        update {{ source('ft42_sync', 'sync_runs') }} set published_at = coalesce(published_at, now())
        where run_id = {{ run_id | int }}
    {%- else -%}
        select 'run outside a sync: no ledger row to mark'
    {%- endif -%}
{%- endmacro %}
