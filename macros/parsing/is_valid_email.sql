{#-
    True when a (lowercased, trimmed) email address has a plausible shape:
    local part, one @, a dotted domain ending in a 2+ letter top-level domain.
    Null stays null.
-#}
{% macro is_valid_email(column) -%}
    regexp_full_match(
        {{ column }},
        '[a-z0-9!#$%&''*+/=?^_`{|}~.-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}'
    )
{%- endmacro %}
