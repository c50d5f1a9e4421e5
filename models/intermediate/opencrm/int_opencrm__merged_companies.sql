{#- One row per duplicate company merged into its survivor (lowest record id
    among loadable companies sharing a normalised name). -#}

with

companies as (

    select * from {{ ref('int_opencrm__companies_resolved') }}

),

merged as (

    select
        company_id,
        survivor_company_id,
        company_name,
        company_name_normalised,
        source_file,
        source_row
    from companies
    where is_merged

)

select * from merged
