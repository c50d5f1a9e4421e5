{#- CorePlus appointments of in-person types as dv_appointment rows. -#}

with

activities as (

    select * from {{ ref('int_coreplus__activities_mapped') }}
    where dataverse_table = 'appointment'

),

appointments as (

    select

        activities.activityid,
        activities.mig_sourcekey,
        cast(null as varchar) as regardingobjectid_account_appointment,
        activities.contact_id as regardingobjectid_contact_appointment,
        cast(null as varchar) as regardingobjectid_opportunity_appointment,
        activities.contact_id as requiredattendee_contact,
        activities.ownerid as organizer_systemuser,
        activities.ownerid,
        activities.subject,
        activities.location,
        activities.description,
        cast(null as integer) as prioritycode,
        activities.statecode,
        activities.statuscode,
        activities.starts_at as scheduledstart,
        activities.ends_at as scheduledend,
        activities.created_at as overriddencreatedon,
        activities.modified_at as mig_sourcemodifiedon

    from activities

)

select * from appointments
