{#-
    Parse an OpenCRM money value into DECIMAL(19, 4).

    Accepted: £1,250.00 (the export's own), 1250, £1,250, -£50.00, £-50.00,
    with or without spaces. The pound sign, thousands separators and spaces
    are removed; anything that is still not a number is null (pair it with
    `is_unparseable` to flag it).
-#}
{% macro parse_money(column) -%}
    try_cast(
        replace(replace(replace({{ column }}, '£', ''), ',', ''), ' ', '')
        as decimal(19, 4)
    )
{%- endmacro %}
