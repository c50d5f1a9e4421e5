{#-
    Which source feeds this mart: var migration_source (dbt_project.yml).
    A migration runs one source at a time; CorePlus rows are mapped in
    int_coreplus__appointments_mapped, OpenCRM rows below.
-#}
{% if var('migration_source', 'opencrm') == 'coreplus' %}

select * from {{ ref('int_coreplus__appointments_mapped') }}

{% else %}

with

activities as (

    select * from {{ ref('int_opencrm__activities_resolved') }}
    where not is_quarantined and dataverse_table = 'appointment'

),

owners as (

    select * from {{ ref('int_opencrm__owners_resolved') }}

),

appointments as (

    select

        ---------- ids
        {{ dv_guid('opencrm', 'activity', 'activities.activity_id') }}
            as activityid,
        {{ source_key('opencrm', 'activity', 'activities.activity_id') }}
            as mig_sourcekey,
        case
            when activities.related_module = 'companies'
                then {{ dv_guid('opencrm', 'company', 'activities.regarding_id') }}
        end as regardingobjectid_account_appointment,
        case
            when activities.related_module = 'contacts'
                then {{ dv_guid('opencrm', 'contact', 'activities.regarding_id') }}
        end as regardingobjectid_contact_appointment,
        case
            when activities.related_module = 'opportunities'
                then {{ dv_guid('opencrm', 'opportunity', 'activities.regarding_id') }}
        end as regardingobjectid_opportunity_appointment,
        {{ dv_guid('opencrm', 'contact', 'activities.party_contact_id') }}
            as requiredattendee_contact,
        owners.owner_systemuser_id as organizer_systemuser,
        owners.owner_systemuser_id as ownerid,

        ---------- strings
        activities.subject,
        activities.location,
        activities.description,

        ---------- numerics
        activities.prioritycode,
        activities.statecode,
        activities.statuscode,

        ---------- timestamps
        activities.starts_at as scheduledstart,
        activities.ends_at as scheduledend,
        activities.created_at as overriddencreatedon,
        activities.modified_at as mig_sourcemodifiedon

    from activities
    left join owners
        on
            coalesce(lower(activities.assigned_to_user_name), '')
            = owners.user_key

)

select * from appointments

{% endif %}
