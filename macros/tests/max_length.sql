{#-
    Fails for every row whose text is longer than the Dataverse column's
    MaxLength (research/dataverse_api.md section 13, reference/dataverse-tables).
-#}
{% test max_length(model, column_name, length) %}

select
    {{ column_name }} as value,
    length({{ column_name }}) as value_length
from {{ model }}
where length({{ column_name }}) > {{ length }}

{% endtest %}
