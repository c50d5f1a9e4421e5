{#-
    Which source feeds this mart: var migration_source (dbt_project.yml).
    A migration runs one source at a time; CorePlus rows are mapped in
    int_coreplus__contacts_mapped, OpenCRM rows below.
-#}
{% if var('migration_source', 'opencrm') == 'coreplus' %}

select * from {{ ref('int_coreplus__contacts_mapped') }}

{% else %}

with

contacts as (

    select * from {{ ref('int_opencrm__contacts_resolved') }}
    where is_survivor

),

owners as (

    select * from {{ ref('int_opencrm__owners_resolved') }}

),

dataverse_contacts as (

    select

        ---------- ids
        {{ dv_guid('opencrm', 'contact', 'contacts.contact_id') }} as contactid,
        {{ source_key('opencrm', 'contact', 'contacts.contact_id') }}
            as mig_sourcekey,
        {{ dv_guid('opencrm', 'company', 'contacts.company_id') }}
            as parentcustomerid_account,
        owners.owner_systemuser_id as ownerid,
        cast(null as varchar) as mig_clientgroupid,

        ---------- strings
        contacts.first_name as firstname,
        contacts.last_name as lastname,
        contacts.job_title as jobtitle,
        contacts.department,
        contacts.valid_email_address as emailaddress1,
        contacts.valid_other_email_address as emailaddress2,
        contacts.phone as telephone1,
        contacts.mobile_phone as mobilephone,
        contacts.home_phone as telephone2,
        contacts.mailing_street as address1_line1,
        contacts.mailing_city as address1_city,
        contacts.mailing_county as address1_county,
        cast(null as varchar) as address1_stateorprovince,
        contacts.mailing_postcode as address1_postalcode,
        contacts.mailing_country as address1_country,
        contacts.description,
        cast(null as varchar) as mig_practitionerrole,
        cast(null as varchar) as mig_practitionerspecialty,

        ---------- numerics
        case lower(contacts.preferred_contact_method)
            when 'email' then 100000000
            when 'phone' then 100000001
            when 'post' then 100000002
        end as mig_preferredcontactmethod,
        cast(null as integer) as statecode,
        cast(null as integer) as statuscode,

        ---------- booleans
        contacts.is_email_opted_out as donotemail,
        contacts.is_phone_opted_out as donotphone,
        contacts.is_newsletter_subscriber as mig_newsletter,

        ---------- dates
        contacts.birth_date as birthdate,

        ---------- timestamps
        contacts.created_at as overriddencreatedon,
        contacts.modified_at as mig_sourcemodifiedon

    from contacts
    left join owners
        on coalesce(lower(contacts.assigned_to_user_name), '') = owners.user_key

)

select * from dataverse_contacts

{% endif %}
