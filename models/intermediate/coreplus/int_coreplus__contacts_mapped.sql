{#-
    CorePlus people as dv_contact rows (the shared mart selects this model
    when var migration_source is coreplus): every loaded client, and every
    practitioner without an enabled Dataverse user (a contact with the
    practitioner role and specialty, owned by the fallback owner under either
    unresolved_owner_policy: it has no owner in CorePlus, like the
    organisation and referrer accounts). Columns match dv_contact's contract.
-#}

with

clients as (

    select * from {{ ref('int_coreplus__clients_resolved') }}
    where not is_quarantined

),

groups as (

    select client_group_id from {{ ref('stg_coreplus__client_groups') }}

),

practitioners as (

    select * from {{ ref('int_coreplus__practitioners_resolved') }}
    where resolved_as = 'contact'

),

client_contacts as (

    select

        ---------- ids
        {{ dv_guid('coreplus', 'client', 'clients.client_id') }} as contactid,
        {{ source_key('coreplus', 'client', 'clients.client_id') }} as mig_sourcekey,
        {{ dv_guid('coreplus', 'organisation', 'clients.organisation_key') }}
            as parentcustomerid_account,
        coalesce(clients.owner_systemuser_id, {{ fallback_owner_id() }})
            as ownerid,
        case
            when groups.client_group_id is not null
                then {{ dv_guid('coreplus', 'client_group', 'clients.client_group_id') }}
        end as mig_clientgroupid,

        ---------- strings
        coalesce(clients.preferred_name, clients.first_name) as firstname,
        clients.last_name as lastname,
        cast(null as varchar) as jobtitle,
        cast(null as varchar) as department,
        case when clients.is_email_valid then clients.email_address end as emailaddress1,
        cast(null as varchar) as emailaddress2,
        clients.work_phone as telephone1,
        clients.mobile_phone_repaired as mobilephone,
        clients.home_phone as telephone2,
        clients.street_address as address1_line1,
        clients.suburb_repaired as address1_city,
        cast(null as varchar) as address1_county,
        clients.state_repaired as address1_stateorprovince,
        clients.postcode as address1_postalcode,
        'Australia' as address1_country,
        clients.overview_notes as description,
        cast(null as varchar) as mig_practitionerrole,
        cast(null as varchar) as mig_practitionerspecialty,

        ---------- numerics
        cast(null as integer) as mig_preferredcontactmethod,
        clients.statecode,
        clients.statuscode,

        ---------- booleans
        cast(null as boolean) as donotemail,
        cast(null as boolean) as donotphone,
        cast(null as boolean) as mig_newsletter,

        ---------- dates
        clients.birth_date as birthdate,

        ---------- timestamps
        clients.created_at as overriddencreatedon,
        clients.modified_at as mig_sourcemodifiedon

    from clients
    left join groups on clients.client_group_id = groups.client_group_id

),

practitioner_contacts as (

    select

        ---------- ids
        {{ dv_guid('coreplus', 'practitioner', 'practitioners.practitioner_id') }}
            as contactid,
        {{ source_key('coreplus', 'practitioner', 'practitioners.practitioner_id') }}
            as mig_sourcekey,
        cast(null as varchar) as parentcustomerid_account,
        {{ fallback_owner_id() }} as ownerid,
        cast(null as varchar) as mig_clientgroupid,

        ---------- strings
        practitioners.first_name as firstname,
        practitioners.last_name as lastname,
        practitioners.discipline as jobtitle,
        cast(null as varchar) as department,
        case
            when {{ is_valid_email('practitioners.email_address') }}
                then practitioners.email_address
        end as emailaddress1,
        cast(null as varchar) as emailaddress2,
        cast(null as varchar) as telephone1,
        practitioners.mobile_phone as mobilephone,
        cast(null as varchar) as telephone2,
        cast(null as varchar) as address1_line1,
        cast(null as varchar) as address1_city,
        cast(null as varchar) as address1_county,
        cast(null as varchar) as address1_stateorprovince,
        cast(null as varchar) as address1_postalcode,
        cast(null as varchar) as address1_country,
        'CorePlus practitioner, provider number '
        || coalesce(practitioners.provider_number, 'none') as description,
        'Practitioner' as mig_practitionerrole,
        practitioners.discipline as mig_practitionerspecialty,

        ---------- numerics
        cast(null as integer) as mig_preferredcontactmethod,
        case when practitioners.is_active then 0 else 1 end as statecode,
        case when practitioners.is_active then 1 else 2 end as statuscode,

        ---------- booleans
        cast(null as boolean) as donotemail,
        cast(null as boolean) as donotphone,
        cast(null as boolean) as mig_newsletter,

        ---------- dates
        cast(null as date) as birthdate,

        ---------- timestamps
        practitioners.created_at as overriddencreatedon,
        practitioners.modified_at as mig_sourcemodifiedon

    from practitioners

),

contacts as (

    select * from client_contacts
    union all by name
    select * from practitioner_contacts

)

select * from contacts
