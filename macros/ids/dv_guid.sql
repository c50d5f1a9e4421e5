{#-
    The deterministic Dataverse primary key of a migrated record.

    Formula: the MD5 of the text  <source>|<object>|<source id>  (UTF-8, no
    spaces), its 32 lowercase hex digits grouped 8-4-4-4-12 with hyphens.
    In Python:  str(uuid.UUID(hashlib.md5(f"{source}|{object}|{id}".encode()).hexdigest()))
    e.g. dv_guid('opencrm', 'company', 1) = 542c201b-fcaf-4e69-8bf1-133fd9cae832.

    The same source record always gets the same id, so lookups are plain GUID
    columns, re-running a load upserts the same rows and rollback knows every
    id. Null ids give null.
-#}
{% macro dv_guid(source, object, id_expression) -%}
    cast(
        cast(
            md5('{{ source }}|{{ object }}|' || cast({{ id_expression }} as varchar))
            as uuid
        ) as varchar
    )
{%- endmacro %}
