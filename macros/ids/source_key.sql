{#-
    The human-readable source key written to the custom column mig_sourcekey
    (alternate key mig_sourcekey_key): <source>:<object>:<source id>,
    e.g. opencrm:contact:1042.
-#}
{% macro source_key(source, object, id_expression) -%}
    '{{ source }}:{{ object }}:' || cast({{ id_expression }} as varchar)
{%- endmacro %}
