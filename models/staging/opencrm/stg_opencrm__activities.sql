with

source as (

    select * from {{ source('raw_opencrm', 'activities') }}

),

renamed as (

    select

        ---------- ids
        {{ parse_id('record_id') }} as activity_id,
        {{ parse_id('related_to_id') }} as related_to_id,
        {{ parse_id('contact_id') }} as contact_id,

        ---------- strings
        lower({{ clean_text('activity_type') }}) as activity_type,
        {{ clean_text('subject') }} as subject,
        {{ clean_text('status') }} as activity_status,
        lower({{ clean_text('status') }}) as activity_status_normalised,
        lower({{ clean_text('priority') }}) as priority,
        lower({{ clean_text('related_module') }}) as related_module,
        {{ clean_text('location') }} as location,
        {{ clean_text('call_outcome') }} as call_outcome,
        {{ clean_text('description') }} as description,
        {{ clean_text('assigned_to') }} as assigned_to_user_name,

        ---------- numerics
        try_cast({{ clean_text('duration_hours') }} as decimal(9, 2))
            as duration_hours,

        ---------- timestamps (UTC; the export's times are Europe/London)
        {{ parse_uk_datetime(clean_text('start_date')) }} as starts_at,
        {{ parse_uk_datetime(clean_text('due_date')) }} as due_at,
        {{ parse_uk_datetime(clean_text('created_time')) }} as created_at,
        {{ parse_uk_datetime(clean_text('modified_time')) }} as modified_at,

        ---------- source values of parsed columns, kept for the issue log
        {{ clean_text('record_id') }} as activity_id_raw,
        {{ clean_text('related_to_id') }} as related_to_id_raw,
        {{ clean_text('contact_id') }} as contact_id_raw,
        {{ clean_text('duration_hours') }} as duration_hours_raw,
        {{ clean_text('start_date') }} as starts_at_raw,
        {{ clean_text('due_date') }} as due_at_raw,
        {{ clean_text('created_time') }} as created_at_raw,
        {{ clean_text('modified_time') }} as modified_at_raw,

        ---------- parse failures (a value was given but did not parse)
        {{ is_unparseable('activity_id_raw', 'activity_id') }}
            as is_activity_id_unparseable,
        {{ is_unparseable(clean_text('related_to_id'), parse_id('related_to_id')) }}
            as is_related_to_id_unparseable,
        {{ is_unparseable(clean_text('contact_id'), parse_id('contact_id')) }}
            as is_contact_id_unparseable,
        {{ is_unparseable(
            clean_text('duration_hours'),
            'try_cast(' ~ clean_text('duration_hours') ~ ' as decimal(9, 2))'
        ) }} as is_duration_hours_unparseable,
        {{ is_unparseable('starts_at_raw', 'starts_at') }}
            as is_starts_at_unparseable,
        {{ is_unparseable('due_at_raw', 'due_at') }} as is_due_at_unparseable,
        {{ is_unparseable('created_at_raw', 'created_at') }}
            as is_created_at_unparseable,
        {{ is_unparseable('modified_at_raw', 'modified_at') }}
            as is_modified_at_unparseable,

        ---------- lineage (dlt's _dlt_load_id and _dlt_id are dropped)
        cast(_source_file as varchar) as source_file,
        try_cast(_source_row as bigint) as source_row,
        try_cast(_extracted_at as timestamp) as extracted_at

    from source

)

select * from renamed
