with

source as (

    select * from {{ source('coreplus', 'appointments') }}

),

renamed as (

    select

        ---------- ids
        lower(trim(appointment_id)) as appointment_id,
        lower({{ clean_text('practitioner__practitioner_id') }}) as practitioner_id,
        lower({{ clean_text('appointment_type_id') }}) as appointment_type_id,
        lower({{ clean_text('location_id') }}) as location_id,
        {{ clean_text('appointment_reference_number') }} as reference_number,

        ---------- strings
        {{ clean_text('status') }} as status,
        {{ clean_text('subject') }} as subject,
        {{ clean_text('notes') }} as notes,

        ---------- timestamps
        timezone('UTC', try_cast(start_date_time as timestamptz)) as starts_at,
        timezone('UTC', try_cast(end_date_time as timestamptz)) as ends_at,
        timezone('UTC', try_cast(date_created as timestamptz)) as created_at,
        timezone('UTC', try_cast(date_modified as timestamptz)) as modified_at,

        ---------- lineage
        _dlt_id as dlt_id

    from source

)

select * from renamed
