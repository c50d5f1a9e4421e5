{#-
    Which source feeds this mart: var migration_source (dbt_project.yml).
    A migration runs one source at a time; CorePlus rows are mapped in
    int_coreplus__phonecalls_mapped, OpenCRM rows below.
-#}
{% if var('migration_source', 'opencrm') == 'coreplus' %}

select * from {{ ref('int_coreplus__phonecalls_mapped') }}

{% else %}

with

activities as (

    select * from {{ ref('int_opencrm__activities_resolved') }}
    where not is_quarantined and dataverse_table = 'phonecall'

),

owners as (

    select * from {{ ref('int_opencrm__owners_resolved') }}

),

phonecalls as (

    select

        ---------- ids
        {{ dv_guid('opencrm', 'activity', 'activities.activity_id') }}
            as activityid,
        {{ source_key('opencrm', 'activity', 'activities.activity_id') }}
            as mig_sourcekey,
        case
            when activities.related_module = 'companies'
                then {{ dv_guid('opencrm', 'company', 'activities.regarding_id') }}
        end as regardingobjectid_account_phonecall,
        case
            when activities.related_module = 'contacts'
                then {{ dv_guid('opencrm', 'contact', 'activities.regarding_id') }}
        end as regardingobjectid_contact_phonecall,
        case
            when activities.related_module = 'opportunities'
                then {{ dv_guid('opencrm', 'opportunity', 'activities.regarding_id') }}
        end as regardingobjectid_opportunity_phonecall,
        {{ dv_guid('opencrm', 'contact', 'activities.party_contact_id') }}
            as to_contact,
        owners.owner_systemuser_id as from_systemuser,
        owners.owner_systemuser_id as ownerid,

        ---------- strings
        activities.subject,
        activities.description,
        activities.party_phone_number as phonenumber,
        activities.call_outcome as mig_calloutcome,

        ---------- numerics
        activities.duration_minutes as actualdurationminutes,
        activities.prioritycode,
        activities.statecode,
        activities.statuscode,

        ---------- timestamps
        activities.starts_at as scheduledstart,
        activities.ends_at as scheduledend,
        case when activities.statecode = 1 then activities.ends_at end
            as actualend,
        activities.created_at as overriddencreatedon,
        activities.modified_at as mig_sourcemodifiedon

    from activities
    left join owners
        on
            coalesce(lower(activities.assigned_to_user_name), '')
            = owners.user_key

)

select * from phonecalls

{% endif %}
