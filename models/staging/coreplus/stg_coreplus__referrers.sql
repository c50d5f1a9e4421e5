with

source as (

    select * from {{ source('coreplus', 'referrers') }}

),

renamed as (

    select

        ---------- ids
        lower(trim(referrer_id)) as referrer_id,

        ---------- strings
        {{ clean_text('title') }} as title,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        {{ clean_text('practice_name') }} as practice_name,
        {{ clean_text('specialty') }} as specialty,
        upper({{ clean_text('provider_number') }}) as provider_number,
        {{ clean_text('address') }} as street_address,
        {{ clean_text('suburb') }} as suburb,
        {{ clean_text('state') }} as state,
        {{ clean_text('postcode') }} as postcode,
        {{ clean_text('phone') }} as phone,
        {{ clean_text('fax') }} as fax,
        lower({{ clean_text('email') }}) as email_address,

        ---------- timestamps
        timezone('UTC', try_cast(date_created as timestamptz)) as created_at,
        timezone('UTC', try_cast(date_modified as timestamptz)) as modified_at

    from source

)

select * from renamed
