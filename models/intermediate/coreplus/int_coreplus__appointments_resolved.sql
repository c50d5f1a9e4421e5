{#-
    One row per CorePlus appointment with the Dataverse activity it becomes
    and why it may be held back.

    Activity type: the appointment type's category through
    seeds/coreplus_service_type_map.csv (Phone Call, Telehealth -> phonecall;
    In Person, Home Visit -> appointment). State: the status through
    seeds/coreplus_appointment_status_map.csv. Regarding and attendee: the
    (first) client's contact. Owner: the practitioner's Dataverse user, else
    the fallback owner (or, under unresolved_owner_policy=hold, quarantined).
    Quarantined: client missing, deleted or quarantined; unknown appointment
    type or unmapped category; unmapped status; no start; an unresolved
    practitioner under the hold policy.
-#}

with

appointments as (

    select * from {{ ref('stg_coreplus__appointments') }}

),

appointment_clients as (

    select * from {{ ref('stg_coreplus__appointment_clients') }}
    qualify
        row_number() over (
            partition by appointment_dlt_id order by client_position
        ) = 1

),

types as (

    select * from {{ ref('stg_coreplus__appointment_types') }}

),

service_map as (

    select * from {{ ref('coreplus_service_type_map') }}

),

status_map as (

    select * from {{ ref('coreplus_appointment_status_map') }}

),

clients as (

    select * from {{ ref('int_coreplus__clients_resolved') }}

),

practitioners as (

    select * from {{ ref('int_coreplus__practitioners_resolved') }}

),

joined as (

    select

        appointments.*,
        appointment_clients.client_id,
        clients.client_id is not null as client_exists,
        coalesce(clients.is_quarantined, false) as client_is_quarantined,
        coalesce(clients.mobile_phone_repaired, clients.home_phone)
            as client_phone,
        types.description as appointment_type,
        types.category as service_category,
        service_map.dataverse_table,
        status_map.statecode,
        status_map.statuscode,
        practitioners.owner_systemuser_id,
        {{ coreplus_owner_hold_reason('appointments.practitioner_id', 'practitioners') }}
            as owner_hold_reason,
        cast(date_diff('minute', appointments.starts_at, appointments.ends_at) as integer)
            as duration_minutes

    from appointments
    left join appointment_clients
        on appointments.dlt_id = appointment_clients.appointment_dlt_id
    left join clients
        on appointment_clients.client_id = clients.client_id
    left join types
        on appointments.appointment_type_id = types.appointment_type_id
    left join service_map
        on lower(trim(types.category)) = lower(trim(service_map.service_category))
    left join status_map
        on
            service_map.dataverse_table = status_map.dataverse_table
            and lower(appointments.status) = lower(trim(status_map.source_status))
    left join practitioners
        on appointments.practitioner_id = practitioners.practitioner_id

),

validated as (

    select

        joined.*,
        nullif(
            concat_ws(
                '; ',
                case
                    when joined.client_id is null then 'appointment has no client'
                    when not joined.client_exists then 'client not found'
                    when joined.client_is_quarantined then 'client is quarantined'
                end,
                case
                    when joined.appointment_type is null
                        then 'appointment type not found'
                    when joined.dataverse_table is null
                        then 'service category not mapped: '
                            || coalesce(joined.service_category, '')
                end,
                case
                    when joined.dataverse_table is not null and joined.statecode is null
                        then 'status not mapped: ' || coalesce(joined.status, '')
                end,
                case when joined.starts_at is null then 'start time unparseable' end,
                joined.owner_hold_reason
            ),
            ''
        ) as quarantine_reasons

    from joined

),

final as (

    select

        validated.*,
        validated.quarantine_reasons is not null as is_quarantined

    from validated

)

select * from final
