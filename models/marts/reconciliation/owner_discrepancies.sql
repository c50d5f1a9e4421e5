{#- Every OpenCRM user whose records cannot go to their own enabled Dataverse
    user, why, and how many records fall back to the fallback owner
    (var fallback_owner_email). Review before loading: provision the user in
    Dataverse (and re-extract raw_dataverse) or accept the fallback. -#}

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
        '{{ var("fallback_owner_email") }}' as fallback_owner_email,
        owner_systemuser_id as fallback_owner_systemuserid
    from owners

)

select * from discrepancies
