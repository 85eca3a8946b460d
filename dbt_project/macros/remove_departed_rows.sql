{#-
    Remove from `target` (a mirror) the rows `current` no longer holds on `key` (a column, or a
    list of columns for a composite key; by default the model's `unique_key`), unless that is more than MAX_REMOVED_SHARE of `target`
    (passed in by the sync, which declares its default): a listing that suddenly lacks many rows
    is far likelier an API glitch than an exodus. A pre-hook: the exception aborts the model's
    transaction, so a refused run writes nothing at all. One anti-join does both the count and
    the delete; a first run (no table yet) has nothing to remove. `unless` (SQL, optional): a
    condition under which no row can have left (`basis_unchanged`), checked first, so that the
    anti-join and the count are skipped then.
-#}
{% macro remove_departed_rows(target, current, key=none, unless=none) -%}
    {%- if is_incremental() -%}
    {%- set key = key or config.get('unique_key') -%}
    {%- set key_columns = [key] if key is string else key -%}
    do $$
    declare
        total bigint;
        leaving bigint;
        max_share numeric := {{ env_var('MAX_REMOVED_SHARE') | float }};
    begin
        {%- if unless %}
        if {{ unless }} then
            return;
        end if;
        {%- endif %}
        total := (select count(*) from {{ target }});
        delete from {{ target }} as mirrored
        where not exists (
            select from {{ current }} as listed
            where {% for column in key_columns %}listed.{{ adapter.quote(column) }} = mirrored.{{ adapter.quote(column) }}{{ " and " if not loop.last }}{% endfor %}
        );
        get diagnostics leaving = row_count;
        if total > 0 and leaving > total * max_share then
            raise exception 'circuit breaker: this run would remove % of % {{ target.identifier }} rows (more than % %%); nothing was removed',
                leaving, total, round(max_share * 100, 1);
        end if;
    end
    $$
    {%- endif -%}
{%- endmacro %}
