{#-
    Which source feeds this mart: var migration_source (dbt_project.yml).
    A migration runs one source at a time; CorePlus rows are mapped in
    int_coreplus__accounts_mapped, OpenCRM rows below.
-#}
{% if var('migration_source', 'opencrm') == 'coreplus' %}

select * from {{ ref('int_coreplus__accounts_mapped') }}

{% else %}

with

companies as (

    select * from {{ ref('int_opencrm__companies_resolved') }}
    where is_survivor

),

owners as (

    select * from {{ ref('int_opencrm__owners_resolved') }}

),

accounts as (

    select

        ---------- ids
        {{ dv_guid('opencrm', 'company', 'companies.company_id') }} as accountid,
        {{ source_key('opencrm', 'company', 'companies.company_id') }}
            as mig_sourcekey,
        {{ dv_guid('opencrm', 'company', 'companies.parent_company_id') }}
            as parentaccountid,
        owners.owner_systemuser_id as ownerid,

        ---------- strings
        companies.company_name as name,
        companies.phone as telephone1,
        companies.fax,
        case when companies.is_email_valid then companies.email_address end
            as emailaddress1,
        companies.website as websiteurl,
        companies.billing_street as address1_line1,
        companies.billing_city as address1_city,
        companies.billing_county as address1_county,
        cast(null as varchar) as address1_stateorprovince,
        companies.billing_postcode as address1_postalcode,
        companies.billing_country as address1_country,
        companies.description,
        companies.sector_code as mig_sectorcode,
        cast(null as integer) as mig_referrertype,

        ---------- numerics
        case
            when companies.employee_count between 0 and 1000000000
                then companies.employee_count
        end as numberofemployees,
        case
            when companies.annual_revenue between 0 and 100000000000000
                then companies.annual_revenue
        end as revenue,

        ---------- booleans
        companies.is_phone_opted_out as donotphone,
        companies.is_email_opted_out as donotemail,

        ---------- dates
        companies.customer_since_date as mig_customersince,

        ---------- timestamps
        companies.created_at as overriddencreatedon,
        companies.modified_at as mig_sourcemodifiedon

    from companies
    left join owners
        on coalesce(lower(companies.assigned_to_user_name), '') = owners.user_key

)

select * from accounts

{% endif %}
