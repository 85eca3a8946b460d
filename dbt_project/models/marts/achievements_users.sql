{#- analyze_if_never_analyzed: statistics from the first build on, or the next build's anti-joins on id probe
    the index row by row instead of hashing. The anti-joins (removal, keys the mart lacks) run only
    when the table's basis moved since its last publication (`mirror_basis`, stored by `record_basis`). -#}
{{
    config(
        unique_key='id',
        pre_hook="{{ remove_departed_rows(this, ref('int_ft42__current_achievements_users'),
            unless=basis_unchanged('achievements_users', mirror_basis('achievements_users'))) }}",
        post_hook=[
            "{{ record_basis('achievements_users') }}",
            "{{ analyze_if_never_analyzed(this, 'id') }}",
            "create index if not exists {{ this.identifier }}_user_id_idx on {{ this }} (user_id)",
            "create index if not exists {{ this.identifier }}_achievement_id_idx on {{ this }} (achievement_id)",
        ],
    )
}}

{{ mirrored_changes(ref('int_ft42__current_achievements_users'), 'achievements_users') }}
