{{
    config(
        materialized='incremental',
        unique_key='id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ remove_departed_users(this, ref('int_ft42__current_students')) }}",
        post_hook=[
            "create index if not exists {{ this.identifier }}_login_idx on {{ this }} (login)",
            "create index if not exists {{ this.identifier }}_email_idx on {{ this }} (email)",
            "create index if not exists {{ this.identifier }}_kind_idx on {{ this }} (kind)",
            "create index if not exists {{ this.identifier }}_updated_at_idx on {{ this }} (updated_at)",
            "{{ record_publication() }}",
        ],
    )
}}

{%- set data_columns = column_names(ref('int_ft42__current_students'), except=['load_id']) %}

with

current_students as (

    select {{ data_columns }} from {{ ref('int_ft42__current_students') }}

),

new_or_changed as (

    select * from current_students
    {% if is_incremental() %}
    -- EXCEPT compares whole rows with nulls equal: unchanged users drop out and keep their
    -- ingested_at.
        except
        select {{ data_columns }} from {{ this }}
    {% endif %}

)

select
    *,
    '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00'::timestamptz as ingested_at
from new_or_changed
