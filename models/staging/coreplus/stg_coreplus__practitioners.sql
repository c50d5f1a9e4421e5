with

source as (

    select * from {{ source('coreplus', 'practitioners') }}

),

renamed as (

    select

        ---------- ids
        lower(trim(practitioner_id)) as practitioner_id,

        ---------- strings
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        lower({{ clean_text('email') }}) as email_address,
        {{ clean_text('mobile') }} as mobile_phone,
        {{ clean_text('provider_number') }} as provider_number,
        {{ clean_text('discipline') }} as discipline,

        ---------- booleans
        is_active,

        ---------- timestamps
        timezone('UTC', try_cast(date_created as timestamptz)) as created_at,
        timezone('UTC', try_cast(date_modified as timestamptz)) as modified_at

    from source

)

select * from renamed
