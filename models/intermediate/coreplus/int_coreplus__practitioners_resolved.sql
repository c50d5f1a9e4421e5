{#-
    One row per CorePlus practitioner: the Dataverse user it resolves to by
    email (enabled users only), or - when there is none - a Contact with the
    practitioner role and specialty. Every practitioner's records are owned by
    its user, else by the fallback owner (var fallback_owner_email); the
    reason is listed in practitioner_discrepancies.
-#}

with

practitioners as (

    select * from {{ ref('stg_coreplus__practitioners') }}

),

systemusers as (

    select * from {{ ref('stg_dataverse__systemusers') }}

),

fallback as (

    select systemuser_id
    from systemusers
    where
        email_address = lower('{{ var("fallback_owner_email") }}')
        and not is_disabled

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
            (select fallback.systemuser_id from fallback)
        ) as owner_systemuser_id

    from matched

)

select * from resolved
