{#-
    CorePlus accounts as dv_account rows: the clients' organisations (many:1,
    see int_coreplus__organisations) and the referrers (surviving ones; a
    Physician or Organization referrer type). Columns match dv_account.
-#}

with

organisations as (

    select * from {{ ref('int_coreplus__organisations') }}

),

referrers as (

    select * from {{ ref('int_coreplus__referrers_resolved') }}
    where is_survivor

),

organisation_accounts as (

    select

        {{ dv_guid('coreplus', 'organisation', 'organisations.organisation_key') }}
            as accountid,
        {{ source_key('coreplus', 'organisation', 'organisations.organisation_key') }}
            as mig_sourcekey,
        cast(null as varchar) as parentaccountid,
        {{ fallback_owner_id() }} as ownerid,
        organisations.organisation_name as name,
        cast(null as varchar) as telephone1,
        cast(null as varchar) as fax,
        cast(null as varchar) as emailaddress1,
        cast(null as varchar) as websiteurl,
        cast(null as varchar) as address1_line1,
        cast(null as varchar) as address1_city,
        cast(null as varchar) as address1_county,
        cast(null as varchar) as address1_stateorprovince,
        cast(null as varchar) as address1_postalcode,
        'Australia' as address1_country,
        'Organisation of ' || organisations.client_count || ' CorePlus client(s)'
            as description,
        cast(null as varchar) as mig_sectorcode,
        cast(null as integer) as mig_referrertype,
        cast(null as integer) as numberofemployees,
        cast(null as decimal(19, 4)) as revenue,
        cast(null as boolean) as donotphone,
        cast(null as boolean) as donotemail,
        cast(null as date) as mig_customersince,
        organisations.created_at as overriddencreatedon,
        organisations.modified_at as mig_sourcemodifiedon

    from organisations

),

referrer_accounts as (

    select

        {{ dv_guid('coreplus', 'referrer', 'referrers.referrer_id') }} as accountid,
        {{ source_key('coreplus', 'referrer', 'referrers.referrer_id') }} as mig_sourcekey,
        cast(null as varchar) as parentaccountid,
        {{ fallback_owner_id() }} as ownerid,
        left(referrers.display_name, 160) as name,
        referrers.phone as telephone1,
        referrers.fax,
        case
            when {{ is_valid_email('referrers.email_address') }}
                then referrers.email_address
        end as emailaddress1,
        cast(null as varchar) as websiteurl,
        referrers.street_address as address1_line1,
        referrers.suburb as address1_city,
        cast(null as varchar) as address1_county,
        referrers.state as address1_stateorprovince,
        referrers.postcode as address1_postalcode,
        'Australia' as address1_country,
        concat_ws(
            '; ',
            referrers.specialty,
            'provider number ' || referrers.provider_number
        ) as description,
        cast(null as varchar) as mig_sectorcode,
        case referrers.referrer_type
            when 'Physician' then 100000000
            when 'Organization' then 100000001
        end as mig_referrertype,
        cast(null as integer) as numberofemployees,
        cast(null as decimal(19, 4)) as revenue,
        cast(null as boolean) as donotphone,
        cast(null as boolean) as donotemail,
        cast(null as date) as mig_customersince,
        referrers.created_at as overriddencreatedon,
        referrers.modified_at as mig_sourcemodifiedon

    from referrers

),

accounts as (

    select * from organisation_accounts
    union all by name
    select * from referrer_accounts

)

select * from accounts
