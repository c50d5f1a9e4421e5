{#-
    A quarantine reason when a text value is longer than the Dataverse column
    allows (truncating it would lose data), otherwise null. Reasons are joined
    with concat_ws('; ', ...), which skips the nulls.
-#}
{% macro too_long(column, max_length, label=none) -%}
    case
        when length({{ column }}) > {{ max_length }}
            then '{{ label or column }} longer than {{ max_length }} characters'
    end
{%- endmacro %}
