{#-
    The records an activity or a note can be related to (Related Module +
    Related To ID), one row per source company, contact and deal, with the
    record it loads as (the survivor of a merge) or null when it is
    quarantined.
-#}

with

companies as (

    select * from {{ ref('int_opencrm__companies_resolved') }}

),

contacts as (

    select * from {{ ref('int_opencrm__contacts_resolved') }}

),

opportunities as (

    select * from {{ ref('int_opencrm__opportunities_mapped') }}

),

parent_records as (

    select
        'companies' as related_module,
        company_id as source_id,
        survivor_company_id as resolved_id,
        is_quarantined
    from companies
    where company_id is not null

    union all

    select
        'contacts' as related_module,
        contact_id as source_id,
        survivor_contact_id as resolved_id,
        is_quarantined
    from contacts
    where contact_id is not null

    union all

    select
        'opportunities' as related_module,
        opportunity_id as source_id,
        case when not is_quarantined then opportunity_id end as resolved_id,
        is_quarantined
    from opportunities
    where opportunity_id is not null

)

select * from parent_records
