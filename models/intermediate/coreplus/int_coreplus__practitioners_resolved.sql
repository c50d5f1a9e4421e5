{#-
    One row per CorePlus practitioner: the Dataverse user it resolves to by
    email (enabled users only), or - when there is none - a Contact with the
    practitioner role and specialty. Every practitioner's records are owned by
    its user; a practitioner without one is unresolved (discrepancy, listed in
    practitioner_discrepancies) and var unresolved_owner_policy decides: its
    records go to the fallback owner (var fallback_owner_email; 'fallback',
    the default) or are held back ('hold': owner_systemuser_id is null and
    hold_reason is the quarantine reason its records get).
-#}

with

practitioners as (

    select * from {{ ref('stg_coreplus__practitioners') }}

),

systemusers as (

    select * from {{ ref('stg_dataverse__systemusers') }}

),

matched as (

    select

        practitioners.*,
        users.systemuser_id as matched_systemuser_id,
        users.is_disabled as matched_user_is_disabled

    from practitioners
    left join systemusers as users
        on practitioners.email_address = users.email_address

),

resolved as (

    select

        matched.* exclude (matched.matched_systemuser_id, matched.matched_user_is_disabled),
        case
            when not matched.matched_user_is_disabled
                then matched.matched_systemuser_id
        end as systemuser_id,
        case
            when matched.email_address is null then 'practitioner has no email'
            when matched.matched_systemuser_id is null
                then 'no Dataverse user with this email'
            when matched.matched_user_is_disabled
                then 'the Dataverse user with this email is disabled'
        end as discrepancy,
        case
            when
                matched.matched_systemuser_id is not null
                and not matched.matched_user_is_disabled
                then 'systemuser'
            else 'contact'
        end as resolved_as,
        coalesce(
            case
                when not matched.matched_user_is_disabled
                    then matched.matched_systemuser_id
            end,
            case
                when '{{ unresolved_owner_policy() }}' = 'fallback'
                    then {{ fallback_owner_id() }}
            end
        ) as owner_systemuser_id

    from matched

),

final as (

    select

        resolved.*,
        resolved.discrepancy is not null
        and '{{ unresolved_owner_policy() }}' = 'hold' as is_held_back,
        case
            when resolved.discrepancy is null then 'own user'
            when '{{ unresolved_owner_policy() }}' = 'hold' then 'held back'
            else 'fallback owner'
        end as outcome,
        case
            when
                resolved.discrepancy is not null
                and '{{ unresolved_owner_policy() }}' = 'hold'
                then 'practitioner '''
                    || coalesce(
                        nullif(concat_ws(' ', resolved.first_name, resolved.last_name), ''),
                        resolved.practitioner_id
                    )
                    || ''' '
                    || case resolved.discrepancy
                        when 'practitioner has no email'
                            then 'has no email, so no Dataverse user'
                        when 'the Dataverse user with this email is disabled'
                            then 'matches a disabled Dataverse user'
                        else 'has no Dataverse user'
                    end
                    || {{ held_back_suffix() }}
        end as hold_reason

    from resolved

)

select * from final
