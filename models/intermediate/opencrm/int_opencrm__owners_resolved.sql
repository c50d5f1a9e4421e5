{#-
    One row per OpenCRM user name that owns records (Assigned To, or Created
    By on notes) or appears in Users.csv, with the Dataverse user that will
    own its records.

    Match: user name -> Users.csv email -> raw_dataverse.systemusers by
    lower(internalemailaddress). A user who is not in Users.csv, has no email
    or no Dataverse user, whose Dataverse user is disabled, or who is inactive
    in OpenCRM is unresolved (is_fallback, with a discrepancy reason) and,
    by var unresolved_owner_policy, either gets the fallback owner (var
    fallback_owner_email; 'fallback', the default) or has its records held
    back ('hold': hold_reason is the quarantine reason every record it owns
    gets; owner_systemuser_id is null). Records are never orphaned to a
    disabled user.
-#}

with

users as (

    select * from {{ ref('stg_opencrm__users') }}

),

systemusers as (

    select * from {{ ref('stg_dataverse__systemusers') }}

),

companies as (

    select assigned_to_user_name from {{ ref('stg_opencrm__companies') }}

),

contacts as (

    select assigned_to_user_name from {{ ref('stg_opencrm__contacts') }}

),

opportunities as (

    select assigned_to_user_name from {{ ref('stg_opencrm__opportunities') }}

),

activities as (

    select assigned_to_user_name from {{ ref('stg_opencrm__activities') }}

),

notes as (

    select created_by_user_name from {{ ref('stg_opencrm__notes') }}

),

assignments as (

    select assigned_to_user_name as user_name from companies
    union all
    select assigned_to_user_name as user_name from contacts
    union all
    select assigned_to_user_name as user_name from opportunities
    union all
    select assigned_to_user_name as user_name from activities
    union all
    select created_by_user_name as user_name from notes

),

records_per_user as (

    select
        coalesce(lower(user_name), '') as user_key,
        min(user_name) as user_name,
        count(*) as records_affected
    from assignments
    group by 1

),

users_by_name as (

    select
        coalesce(lower(user_name), '') as user_key,
        user_id,
        user_name,
        email_address,
        is_active
    from users
    qualify row_number() over (
            partition by coalesce(lower(user_name), '') order by user_id
        ) = 1

),

systemusers_by_email as (

    select
        systemuser_id,
        email_address,
        is_disabled
    from systemusers
    where email_address is not null
    {# an enabled user wins over a disabled one with the same email #}
    qualify row_number() over (
            partition by email_address order by is_disabled, systemuser_id
        ) = 1

),

fallback_owner as (

    select min(systemuser_id) as systemuser_id
    from systemusers
    where
        email_address = lower('{{ var("fallback_owner_email") }}')
        and not is_disabled

),

source_users as (

    select
        coalesce(users_by_name.user_key, records_per_user.user_key) as user_key,
        coalesce(users_by_name.user_name, records_per_user.user_name)
            as user_name,
        users_by_name.user_id,
        users_by_name.email_address,
        users_by_name.is_active,
        users_by_name.user_key is not null as is_in_users_csv,
        coalesce(records_per_user.records_affected, 0) as records_affected
    from users_by_name
    full outer join records_per_user
        on users_by_name.user_key = records_per_user.user_key

),

matched_to_dataverse as (

    select
        source_users.*,
        systemusers_by_email.systemuser_id as matched_systemuser_id,
        case
            when not source_users.is_in_users_csv then 'not_in_users_csv'
            when systemusers_by_email.systemuser_id is null
                then 'no_dataverse_user'
            when systemusers_by_email.is_disabled
                then 'dataverse_user_disabled'
            when not source_users.is_active then 'opencrm_user_inactive'
        end as discrepancy_reason
    from source_users
    left join systemusers_by_email
        on source_users.email_address = systemusers_by_email.email_address

),

owners_resolved as (

    select
        matched_to_dataverse.user_key,
        matched_to_dataverse.user_name,
        matched_to_dataverse.user_id,
        matched_to_dataverse.email_address,
        matched_to_dataverse.is_active,
        matched_to_dataverse.is_in_users_csv,
        matched_to_dataverse.matched_systemuser_id,
        matched_to_dataverse.discrepancy_reason,
        matched_to_dataverse.records_affected,
        matched_to_dataverse.discrepancy_reason is not null as is_fallback,
        matched_to_dataverse.discrepancy_reason is not null
        and '{{ unresolved_owner_policy() }}' = 'hold' as is_held_back,
        case
            when matched_to_dataverse.discrepancy_reason is null then 'own user'
            when '{{ unresolved_owner_policy() }}' = 'hold' then 'held back'
            else 'fallback owner'
        end as outcome,
        case
            when matched_to_dataverse.discrepancy_reason is null
                then matched_to_dataverse.matched_systemuser_id
            when '{{ unresolved_owner_policy() }}' = 'fallback'
                then (select fallback_owner.systemuser_id from fallback_owner)
        end as owner_systemuser_id,
        case
            when '{{ unresolved_owner_policy() }}' = 'hold'
                then
                    case
                        when matched_to_dataverse.user_key = ''
                            then 'owner is blank'
                        else 'owner ''' || matched_to_dataverse.user_name || ''' '
                    end
                    || case matched_to_dataverse.discrepancy_reason
                        when 'not_in_users_csv'
                            then
                                case
                                    when matched_to_dataverse.user_key != ''
                                        then 'is not in Users.csv'
                                    else ''
                                end
                        when 'no_dataverse_user'
                            then
                                case
                                    when matched_to_dataverse.email_address is null
                                        then 'has no email in Users.csv'
                                    else 'has no Dataverse user'
                                end
                        when 'dataverse_user_disabled'
                            then 'matches a disabled Dataverse user'
                        when 'opencrm_user_inactive' then 'is inactive in OpenCRM'
                    end
                    || {{ held_back_suffix() }}
        end as hold_reason
    from matched_to_dataverse

)

select * from owners_resolved
