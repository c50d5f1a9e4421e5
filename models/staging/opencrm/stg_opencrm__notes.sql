with

source as (

    select * from {{ source('raw_opencrm', 'notes') }}

),

renamed as (

    select

        ---------- ids
        {{ parse_id('note_id') }} as note_id,
        {{ parse_id('related_to_id') }} as related_to_id,

        ---------- strings
        {{ clean_text('title') }} as title,
        {# inner line breaks are kept; CRLF becomes LF #}
        replace({{ clean_text('note_content') }}, chr(13) || chr(10), chr(10))
            as note_content,
        lower({{ clean_text('related_module') }}) as related_module,
        {{ clean_text('created_by') }} as created_by_user_name,
        {{ clean_text('attachment_filename') }} as attachment_filename,

        ---------- timestamps (UTC; the export's times are Europe/London)
        {{ parse_uk_datetime(clean_text('created_time')) }} as created_at,
        {{ parse_uk_datetime(clean_text('modified_time')) }} as modified_at,

        ---------- source values of parsed columns, kept for the issue log
        {{ clean_text('note_id') }} as note_id_raw,
        {{ clean_text('related_to_id') }} as related_to_id_raw,
        {{ clean_text('created_time') }} as created_at_raw,
        {{ clean_text('modified_time') }} as modified_at_raw,

        ---------- parse failures (a value was given but did not parse)
        {{ is_unparseable('note_id_raw', 'note_id') }} as is_note_id_unparseable,
        {{ is_unparseable(clean_text('related_to_id'), parse_id('related_to_id')) }}
            as is_related_to_id_unparseable,
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
