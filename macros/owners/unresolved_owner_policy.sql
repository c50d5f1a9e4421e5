{#-
    What happens to records whose owner cannot be resolved to an enabled
    Dataverse user (var unresolved_owner_policy, dbt_project.yml):
    'fallback' (the default) gives them to the fallback owner
    (var fallback_owner_email); 'hold' quarantines them with the reason.
-#}
{% macro unresolved_owner_policy() -%}
    {%- set policy = var('unresolved_owner_policy', 'fallback') -%}
    {%- if execute is defined and execute and policy not in ['fallback', 'hold'] -%}
        {{ exceptions.raise_compiler_error(
            "var unresolved_owner_policy must be 'fallback' or 'hold', not '"
            ~ policy ~ "'"
        ) }}
    {%- endif -%}
    {{- return(policy) -}}
{%- endmacro %}

{#- The suffix every held-back reason ends with: says which setting held it. -#}
{% macro held_back_suffix() -%}
    ' (held back: unresolved_owner_policy=hold)'
{%- endmacro %}

{#-
    The hold reason of a CorePlus record owned by a practitioner (null under
    the fallback policy, or when the practitioner owns records in Dataverse):
    the practitioner's own hold_reason (int_coreplus__practitioners_resolved),
    or, with no practitioner or an unknown one, that nobody owns the record.
-#}
{% macro coreplus_owner_hold_reason(practitioner_id, practitioners) -%}
    case
        when '{{ unresolved_owner_policy() }}' != 'hold' then cast(null as varchar)
        when {{ practitioner_id }} is null
            then 'no practitioner, so no owner' || {{ held_back_suffix() }}
        when {{ practitioners }}.practitioner_id is null
            then 'practitioner ' || {{ practitioner_id }} || ' not found, so no owner'
                || {{ held_back_suffix() }}
        else {{ practitioners }}.hold_reason
    end
{%- endmacro %}
