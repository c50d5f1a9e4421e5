{#-
    CorePlus appointments of phone and telehealth types as dv_phonecall rows:
    outgoing calls from the practitioner's user to the client, with the
    booked duration and the client's phone number.
-#}

with

activities as (

    select * from {{ ref('int_coreplus__activities_mapped') }}
    where dataverse_table = 'phonecall'

),

phonecalls as (

    select

        activities.activityid,
        activities.mig_sourcekey,
        cast(null as varchar) as regardingobjectid_account_phonecall,
        activities.contact_id as regardingobjectid_contact_phonecall,
        cast(null as varchar) as regardingobjectid_opportunity_phonecall,
        activities.contact_id as to_contact,
        activities.ownerid as from_systemuser,
        activities.ownerid,
        activities.subject,
        activities.description,
        activities.phonenumber,
        cast(null as varchar) as mig_calloutcome,
        activities.duration_minutes as actualdurationminutes,
        cast(null as integer) as prioritycode,
        activities.statecode,
        activities.statuscode,
        activities.starts_at as scheduledstart,
        activities.ends_at as scheduledend,
        case when activities.statecode = 1 then activities.ends_at end as actualend,
        activities.created_at as overriddencreatedon,
        activities.modified_at as mig_sourcemodifiedon

    from activities

)

select * from phonecalls
