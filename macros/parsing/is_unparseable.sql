{#-
    True when a value was given (not blank) but did not parse: the flag that
    lets intermediate models quarantine a row or record a data-quality issue.

    Both arguments are SQL expressions. In a staging model they may name
    aliases defined earlier in the same select list (DuckDB resolves them),
    but only aliases that differ from every raw column name: a raw column of
    the same name wins. When the parsed alias shadows a raw column, pass the
    parse expression itself, e.g.
    is_unparseable('amount_raw', parse_money(clean_text('amount'))).
-#}
{% macro is_unparseable(raw_column, parsed_expression) -%}
    coalesce({{ raw_column }} is not null and {{ parsed_expression }} is null, false)
{%- endmacro %}
