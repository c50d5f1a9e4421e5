{#- Every OpenCRM user whose records cannot go to their own enabled Dataverse
    user, why, how many records it owns and what happens to them (outcome):
    'fallback owner' (var fallback_owner_email) or 'held back' (quarantined,
    var unresolved_owner_policy=hold). Review before loading: provision the
    user in Dataverse (and re-extract raw_dataverse), or accept the outcome. -#}

with

owners as (

    select * from {{ ref('int_opencrm__owners_resolved') }}
    where is_fallback

),

discrepancies as (

    select
        user_name as source_user_name,
        user_id as source_user_id,
        email_address,
        discrepancy_reason as reason,
        records_affected,
        outcome,
        hold_reason,
        '{{ var("fallback_owner_email") }}' as fallback_owner_email,
        owner_systemuser_id as fallback_owner_systemuserid
    from owners

)

select * from discrepancies
