{#- One row per OpenCRM source row that cannot be loaded safely, with every
    reason it was held back ('; '-joined). Fix the source or the mapping and
    rebuild: the row then flows to its mart. Under
    unresolved_owner_policy=hold, every Users.csv user whose records are held
    back is listed too (users are never loaded; their records are). -#}

with

companies as (

    select * from {{ ref('int_opencrm__companies_resolved') }}
    where is_quarantined

),

contacts as (

    select * from {{ ref('int_opencrm__contacts_resolved') }}
    where is_quarantined

),

opportunities as (

    select * from {{ ref('int_opencrm__opportunities_mapped') }}
    where is_quarantined

),

activities as (

    select * from {{ ref('int_opencrm__activities_resolved') }}
    where is_quarantined

),

notes as (

    select * from {{ ref('int_opencrm__notes_resolved') }}
    where is_quarantined

),

held_users as (

    select
        users.user_id_raw,
        users.source_file,
        users.source_row,
        owners.hold_reason,
        owners.records_affected
    from {{ ref('stg_opencrm__users') }} as users
    inner join {{ ref('int_opencrm__owners_resolved') }} as owners
        on coalesce(lower(users.user_name), '') = owners.user_key
    where owners.is_held_back

),

quarantined as (

    select
        'companies' as source_object,
        company_id_raw as source_id,
        source_file,
        source_row,
        quarantine_reasons as reasons
    from companies

    union all

    select
        'contacts' as source_object,
        contact_id_raw as source_id,
        source_file,
        source_row,
        quarantine_reasons as reasons
    from contacts

    union all

    select
        'opportunities' as source_object,
        opportunity_id_raw as source_id,
        source_file,
        source_row,
        quarantine_reasons as reasons
    from opportunities

    union all

    select
        'activities' as source_object,
        activity_id_raw as source_id,
        source_file,
        source_row,
        quarantine_reasons as reasons
    from activities

    union all

    select
        'notes' as source_object,
        note_id_raw as source_id,
        source_file,
        source_row,
        quarantine_reasons as reasons
    from notes

    union all

    select
        'users' as source_object,
        user_id_raw as source_id,
        source_file,
        source_row,
        hold_reason || ': ' || records_affected || ' record(s) held back' as reasons
    from held_users

)

select * from quarantined
