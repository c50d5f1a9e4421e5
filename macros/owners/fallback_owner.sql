{#-
    The fallback owner's systemuser id as a scalar subquery: the enabled
    Dataverse user whose email is var fallback_owner_email (null if none).
-#}
{% macro fallback_owner_id() -%}
    (
        select fallback_user.systemuser_id
        from {{ ref('stg_dataverse__systemusers') }} as fallback_user
        where
            fallback_user.email_address = lower('{{ var("fallback_owner_email") }}')
            and not fallback_user.is_disabled
    )
{%- endmacro %}
