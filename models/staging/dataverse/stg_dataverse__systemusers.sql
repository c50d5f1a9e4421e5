with

source as (

    select * from {{ source('raw_dataverse', 'systemusers') }}

),

renamed as (

    select

        ---------- ids
        lower(cast(systemuserid as varchar)) as systemuser_id,
        lower(cast(azureactivedirectoryobjectid as varchar))
            as entra_object_id,

        ---------- strings
        {{ clean_text('cast(fullname as varchar)') }} as full_name,
        lower({{ clean_text('cast(internalemailaddress as varchar)') }})
            as email_address,

        ---------- numerics
        try_cast(accessmode as integer) as access_mode,

        ---------- booleans
        coalesce(
            {{ parse_boolean(clean_text('cast(isdisabled as varchar)')) }}, false
        ) as is_disabled

    from source

)

select * from renamed
