{#-
    Every OpenCRM activity (Call, Meeting, Task), validated, with the record
    it is regarding, the contact it involves and its Dataverse state: one row
    per source row.

    - Regarding: Related Module + Related To ID, re-pointed at the survivor
      of a merge. A parent that is quarantined or does not exist quarantines
      the activity; a blank Related To leaves it unattached.
    - Contact ID becomes the phone call's To party / the meeting's required
      attendee; an unknown contact is dropped from the party and logged.
    - Times: scheduledstart = Start Date; scheduledend = Due Date, else Start
      Date + Duration (Hours); a completed call's actualend is its end.
    - State: seed opencrm_activity_status_map (activity type + Status).
    - Owner: an activity whose owner is unresolved is quarantined under
      unresolved_owner_policy=hold (hold_reason, int_opencrm__owners_resolved).
-#}

with

activities as (

    select * from {{ ref('stg_opencrm__activities') }}

),

parent_records as (

    select * from {{ ref('int_opencrm__parent_records') }}

),

contacts as (

    select * from {{ ref('int_opencrm__contacts_resolved') }}

),

status_map as (

    select
        lower(trim(activity_type)) as activity_type,
        lower(trim(source_status)) as activity_status_normalised,
        statecode,
        statuscode
    from {{ ref('opencrm_activity_status_map') }}

),

owners as (

    select
        user_key,
        hold_reason
    from {{ ref('int_opencrm__owners_resolved') }}

),

loadable_contacts as (

    select
        contact_id,
        survivor_contact_id
    from contacts
    where not is_quarantined

),

contact_phones as (

    select
        contact_id,
        coalesce(phone, mobile_phone) as phone_number
    from contacts
    where is_survivor

),

resolved as (

    select
        activities.*,
        case activities.activity_type
            when 'call' then 'phonecall'
            when 'meeting' then 'appointment'
            when 'task' then 'task'
        end as dataverse_table,
        parent_records.resolved_id as regarding_id,
        parent_records.is_quarantined as is_regarding_quarantined,
        parent_records.source_id is not null as is_regarding_found,
        owners.hold_reason as owner_hold_reason,
        loadable_contacts.survivor_contact_id as party_contact_id,
        contact_phones.phone_number as party_phone_number,
        status_map.statecode,
        status_map.statuscode,
        case activities.priority
            when 'low' then 0
            when 'normal' then 1
            when 'medium' then 1
            when 'high' then 2
            when 'urgent' then 2
        end as prioritycode,
        cast(round(activities.duration_hours * 60) as integer)
            as duration_minutes
    from activities
    left join parent_records
        on
            activities.related_module = parent_records.related_module
            and activities.related_to_id = parent_records.source_id
    left join loadable_contacts
        on activities.contact_id = loadable_contacts.contact_id
    left join contact_phones
        on loadable_contacts.survivor_contact_id = contact_phones.contact_id
    left join owners
        on coalesce(lower(activities.assigned_to_user_name), '') = owners.user_key
    left join status_map
        on
            activities.activity_type = status_map.activity_type
            and activities.activity_status_normalised
            = status_map.activity_status_normalised

),

validated as (

    select
        resolved.*,
        coalesce(
            resolved.due_at,
            resolved.starts_at + to_minutes(resolved.duration_minutes),
            resolved.starts_at
        ) as ends_at,
        nullif(concat_ws(
            '; ',
            {{ reason_if('resolved.activity_id is null', 'record id missing or not a number') }},
            {{ reason_if(
                'resolved.dataverse_table is null',
                'activity type is not Call, Meeting or Task'
            ) }},
            {{ reason_if('resolved.subject is null', 'subject is blank') }},
            {{ too_long('resolved.subject', 200, 'subject') }},
            case
                when resolved.dataverse_table = 'appointment'
                    then nullif(concat_ws(
                            '; ',
                            {{ too_long('resolved.location', 200, 'location') }},
                            {{ too_long('resolved.description', 1048576, 'description') }},
                            {{ reason_if(
                                'resolved.starts_at is null',
                                'meeting start date missing or not a date'
                            ) }}
                        ), '')
                else {{ too_long('resolved.description', 2000, 'description') }}
            end,
            {{ reason_if(
                "resolved.related_module is not null and resolved.related_module not in ('companies', 'contacts', 'opportunities')",
                'related module is not Companies, Contacts or Opportunities'
            ) }},
            {{ reason_if(
                'resolved.related_module is not null and resolved.related_to_id is null',
                'related to id missing or not a number'
            ) }},
            {{ reason_if('resolved.is_regarding_quarantined', 'related record is quarantined') }},
            {{ reason_if(
                "resolved.related_module in ('companies', 'contacts', 'opportunities') and resolved.related_to_id is not null and not resolved.is_regarding_found",
                'related record does not exist'
            ) }},
            resolved.owner_hold_reason
        ), '') as quarantine_reasons
    from resolved

),

final as (

    select
        *,
        quarantine_reasons is not null as is_quarantined
    from validated

)

select * from final
