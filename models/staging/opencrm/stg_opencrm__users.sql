with

source as (

    select * from {{ source('raw_opencrm', 'users') }}

),

renamed as (

    select

        ---------- ids
        {{ parse_id('user_id') }} as user_id,

        ---------- strings
        {{ clean_text('user_name') }} as user_name,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        lower({{ clean_text('email') }}) as email_address,
        lower({{ clean_text('status') }}) as user_status,

        ---------- booleans
        coalesce(lower({{ clean_text('status') }}) = 'active', false) as is_active,

        ---------- lineage (dlt's _dlt_load_id and _dlt_id are dropped)
        {{ clean_text('user_id') }} as user_id_raw,
        cast(_source_file as varchar) as source_file,
        try_cast(_source_row as bigint) as source_row,
        try_cast(_extracted_at as timestamp) as extracted_at

    from source

)

select * from renamed
