{#-
    CorePlus appointments shaped for both activity marts: dv_appointment
    takes dataverse_table = 'appointment', dv_phonecall 'phonecall'. The
    client is the regarding record and the attendee / call recipient; the
    practitioner's user owns and organises (or calls); an appointment with no
    practitioner (or an unknown one) goes to the fallback owner, as an
    unresolved practitioner's do (under the hold policy it never gets here).
-#}

with

appointments as (

    select * from {{ ref('int_coreplus__appointments_resolved') }}
    where not is_quarantined

),

locations as (

    select

        lower(trim(location_id)) as location_id,
        trim(name) as location_name

    from {{ source('coreplus', 'locations') }}

),

mapped as (

    select

        appointments.dataverse_table,
        {{ dv_guid('coreplus', 'appointment', 'appointments.appointment_id') }}
            as activityid,
        {{ source_key('coreplus', 'appointment', 'appointments.appointment_id') }}
            as mig_sourcekey,
        {{ dv_guid('coreplus', 'client', 'appointments.client_id') }} as contact_id,
        coalesce(
            appointments.owner_systemuser_id,
            {{ fallback_owner_id() }}
        ) as ownerid,
        left(
            coalesce(appointments.appointment_type, 'Appointment')
            || ': '
            || coalesce(appointments.subject, ''),
            200
        ) as subject,
        locations.location_name as location,
        appointments.notes as description,
        appointments.client_phone as phonenumber,
        appointments.duration_minutes,
        appointments.statecode,
        appointments.statuscode,
        appointments.starts_at,
        appointments.ends_at,
        appointments.created_at,
        appointments.modified_at

    from appointments
    left join locations on appointments.location_id = locations.location_id

)

select * from mapped
