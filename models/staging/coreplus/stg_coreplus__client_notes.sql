with

source as (

    select * from {{ source('coreplus', 'client_notes') }}

),

renamed as (

    select

        ---------- ids
        lower(trim(note_id)) as note_id,
        lower({{ clean_text('client_id') }}) as client_id,
        lower({{ clean_text('practitioner_id') }}) as practitioner_id,

        ---------- strings
        {{ clean_text('subject') }} as subject,
        {{ clean_text('body') }} as body,
        {{ clean_text('note_type') }} as note_type,
        {{ clean_text('status') }} as status,

        ---------- booleans
        coalesce(lower({{ clean_text('status') }}) = 'draft', false) as is_draft,

        ---------- timestamps
        timezone('UTC', try_cast(note_date as timestamptz)) as noted_at,
        timezone('UTC', try_cast(date_created as timestamptz)) as created_at,
        timezone('UTC', try_cast(date_modified as timestamptz)) as modified_at

    from source

)

select * from renamed
