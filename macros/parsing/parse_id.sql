{#- Parse an OpenCRM record id (an integer, vtiger-style crmid) into BIGINT. -#}
{% macro parse_id(column) -%}
    try_cast({{ clean_text(column) }} as bigint)
{%- endmacro %}
