{#-
    Parse an OpenCRM boolean: 1/0 (the export's own), also yes/no and
    true/false in any case. Anything else is null.
-#}
{% macro parse_boolean(column) -%}
    case lower({{ column }})
        when '1' then true
        when 'yes' then true
        when 'true' then true
        when '0' then false
        when 'no' then false
        when 'false' then false
    end
{%- endmacro %}
