{#- Fails for every row where the expression is not true. -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(
    {%- if column_name %} {{ column_name }} {% endif %}{{ expression }},
    false
)

{% endtest %}
