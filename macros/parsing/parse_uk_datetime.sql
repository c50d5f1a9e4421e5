{#-
    Parse an OpenCRM date-time, recorded in UK local time (Europe/London),
    into a TIMESTAMP in UTC.

    Accepted shapes: dd/mm/yyyy HH:MM (the export's own), dd/mm/yyyy HH:MM:SS,
    dd/mm/yyyy (midnight), dd/mm/yy [HH:MM] and ISO yyyy-mm-dd[ HH:MM[:SS]]
    (also with a T). Anything else, or an impossible date, is null: pair it
    with `is_unparseable` to flag it.

    The local wall-clock time is read as Europe/London with DuckDB's ICU time
    zones (`timezone('Europe/London', ts)` gives the instant, GMT or BST as the
    date requires) and converted back to a naive UTC timestamp with
    `timezone('UTC', instant)`: 15/07/2024 14:30 (BST) becomes
    2024-07-15 13:30:00, 15/01/2024 14:30 (GMT) stays 2024-01-15 14:30:00.
-#}
{% macro parse_uk_datetime(column) -%}
    timezone(
        'UTC',
        timezone(
            'Europe/London',
            {{ parse_uk_local_datetime(column) }}
        )
    )
{%- endmacro %}

{% macro parse_uk_local_datetime(column) -%}
    case
        when {{ column }} like '__/__/____ __:__'
            then try_strptime({{ column }}, '%d/%m/%Y %H:%M')
        when {{ column }} like '__/__/____ __:__:__'
            then try_strptime({{ column }}, '%d/%m/%Y %H:%M:%S')
        when {{ column }} like '__/__/____'
            then try_strptime({{ column }}, '%d/%m/%Y')
        when {{ column }} like '__/__/__ __:__'
            then try_strptime({{ column }}, '%d/%m/%y %H:%M')
        when {{ column }} like '__/__/__'
            then try_strptime({{ column }}, '%d/%m/%y')
        when {{ column }} like '____-__-__%'
            then try_cast({{ column }} as timestamp)
    end
{%- endmacro %}
