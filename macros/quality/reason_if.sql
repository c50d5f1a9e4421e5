{#- A reason text when the condition holds, otherwise null (see too_long). -#}
{% macro reason_if(condition, reason) -%}
    case when {{ condition }} then '{{ reason }}' end
{%- endmacro %}
