{#- Fails for every non-null value outside [min_value, max_value]. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}

select {{ column_name }} as out_of_range_value
from {{ model }}
where
    {{ column_name }} is not null
    and not (
        true
        {%- if min_value is not none %}
        and {{ column_name }} >= {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        and {{ column_name }} <= {{ max_value }}
        {%- endif %}
    )

{% endtest %}
