{#-
    Parse an OpenCRM date into a DATE.

    Accepted shapes: dd/mm/yyyy (the export's own), dd/mm/yy (two-digit years
    pivot as in Python's %y: 69-99 are 19xx, 00-68 are 20xx) and ISO
    yyyy-mm-dd. A value of any other shape, or an impossible date such as
    31/02/2024, parses to null: pair it with `is_unparseable` to flag it.
    LIKE patterns pick the format, so no regular expression runs per row.
-#}
{% macro parse_uk_date(column) -%}
    case
        when {{ column }} like '__/__/____'
            then cast(try_strptime({{ column }}, '%d/%m/%Y') as date)
        when {{ column }} like '__/__/__'
            then cast(try_strptime({{ column }}, '%d/%m/%y') as date)
        when {{ column }} like '____-__-__'
            then try_cast({{ column }} as date)
        when {{ column }} like '%/%/____'
            then cast(try_strptime({{ column }}, '%d/%m/%Y') as date)
    end
{%- endmacro %}
