{#- One row per OpenCRM source row that cannot be loaded safely, with every
    reason it was held back ('; '-joined). Fix the source or the mapping and
    rebuild: the row then flows to its mart. -#}

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

)

select * from quarantined
