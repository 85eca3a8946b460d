{#-
    Refuse a run that would remove more than MAX_REMOVED_SHARE of `target` (default 5 %): a
    listing that suddenly lacks many users is far likelier an API glitch than an exodus. Raised
    inside the model's transaction, so nothing at all is written.
-#}
{% macro removal_circuit_breaker(target, current) -%}
    {%- if is_incremental() -%}
    do $$
    declare
        total bigint := (select count(*) from {{ target }});
        leaving bigint := (
            select count(*) from {{ target }} as mirrored
            where not exists (select from {{ current }} as listed where listed.id = mirrored.id)
        );
        max_share numeric := {{ env_var('MAX_REMOVED_SHARE', '0.05') | float }};
    begin
        if total > 0 and leaving > total * max_share then
            raise exception 'circuit breaker: this run would remove % of % users (more than % %%); nothing was removed',
                leaving, total, round(max_share * 100, 1);
        end if;
    end
    $$
    {%- endif -%}
{%- endmacro %}
