{#- A folder's `+schema` is the schema's full name (ft42_staging), not a suffix of the target's. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
