{#- One row per duplicate contact merged into its survivor (lowest record id
    among loadable contacts with the same valid email and normalised name). -#}

with

contacts as (

    select * from {{ ref('int_opencrm__contacts_resolved') }}

),

merged as (

    select
        contact_id,
        survivor_contact_id,
        valid_email_address as email_address,
        full_name_normalised,
        source_file,
        source_row
    from contacts
    where is_merged

)

select * from merged
