with

source as (

    select * from {{ source('coreplus', 'clients') }}

),

renamed as (

    select

        ---------- ids
        lower(trim(client_id)) as client_id,
        lower({{ clean_text('practitioner_id') }}) as practitioner_id,
        lower({{ clean_text('client_group_id') }}) as client_group_id,
        lower({{ clean_text('referrer_id') }}) as referrer_id,
        {{ clean_text('external_id') }} as external_id,

        ---------- strings
        {{ clean_text('title') }} as title,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('middle_name') }} as middle_name,
        {{ clean_text('last_name') }} as last_name,
        {{ clean_text('preferred_name') }} as preferred_name,
        {{ clean_text('gender') }} as gender,
        {{ clean_text('pronouns') }} as pronouns,
        {{ clean_text('status') }} as status,
        lower({{ clean_text('email') }}) as email_address,
        {{ clean_text('phone_number_home') }} as home_phone,
        {{ clean_text('phone_number_work') }} as work_phone,
        {{ clean_text('phone_number_mobile') }} as mobile_phone,
        {{ clean_text('address_residential__street_address') }} as street_address,
        {{ clean_text('address_residential__suburb') }} as suburb,
        {{ clean_text('address_residential__city') }} as city,
        {{ clean_text('address_residential__state') }} as state,
        {{ clean_text('address_residential__postcode') }} as postcode,
        {{ clean_text('medicare_card_number') }} as medicare_card_number,
        {{ clean_text('organisation_name') }} as organisation_name,
        {{ clean_text('notes1') }} as overview_notes,

        ---------- dates
        try_cast(date_of_birth as timestamp)::date as birth_date,

        ---------- timestamps
        timezone('UTC', try_cast(date_created as timestamptz)) as created_at,
        timezone('UTC', try_cast(date_modified as timestamptz)) as modified_at,

        ---------- lineage
        _dlt_id as dlt_id

    from source

)

select * from renamed
