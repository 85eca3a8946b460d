{#-
    Remove from `target` the users `current` no longer holds (users is a mirror), unless that
    is more than MAX_REMOVED_SHARE of `target` (passed in by the sync, which declares its
    default): a listing that suddenly lacks many users is far likelier an API glitch than an
    exodus. A pre-hook: the exception aborts the model's transaction, so a refused run writes
    nothing at all. One anti-join does both the count and the delete; a first run (no table
    yet) has nothing to remove.
-#}
{% macro remove_departed_users(target, current) -%}
    {%- if is_incremental() -%}
    do $$
    declare
        total bigint := (select count(*) from {{ target }});
        leaving bigint;
        max_share numeric := {{ env_var('MAX_REMOVED_SHARE') | float }};
    begin
        delete from {{ target }} as mirrored
        where not exists (select from {{ current }} as listed where listed.id = mirrored.id);
        get diagnostics leaving = row_count;
        if total > 0 and leaving > total * max_share then
            raise exception 'circuit breaker: this run would remove % of % users (more than % %%); nothing was removed',
                leaving, total, round(max_share * 100, 1);
        end if;
    end
    $$
    {%- endif -%}
{%- endmacro %}
