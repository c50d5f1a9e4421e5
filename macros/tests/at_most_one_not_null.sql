{#-
    Fails for every row where more than one of the columns is set: the
    single-valued navigation properties of one polymorphic lookup
    (regardingobjectid_*, objectid_*) exclude each other in Dataverse.
-#}
{% test at_most_one_not_null(model, columns) %}

select *
from {{ model }}
where (
    {%- for column in columns %}
    case when {{ column }} is not null then 1 else 0 end
    {%- if not loop.last %} +{% endif %}
    {%- endfor %}
) > 1

{% endtest %}
