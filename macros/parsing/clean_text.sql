{#-
    Trim a raw text value and turn blanks into null.

    OpenCRM exports pad values with spaces and non-breaking spaces (U+00A0,
    common in values pasted from web pages); both are removed from the ends.
    Inner line breaks (multi-line notes) are kept.
-#}
{% macro clean_text(column) -%}
    nullif(trim(replace({{ column }}, chr(160), ' ')), '')
{%- endmacro %}
