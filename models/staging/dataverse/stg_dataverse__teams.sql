with

source as (

    select * from {{ source('raw_dataverse', 'teams') }}

),

renamed as (

    select

        ---------- ids
        lower(cast(teamid as varchar)) as team_id,

        ---------- strings
        {{ clean_text('cast(name as varchar)') }} as team_name,

        ---------- numerics
        try_cast(teamtype as integer) as team_type,

        ---------- booleans
        coalesce(
            {{ parse_boolean(clean_text('cast(isdefault as varchar)')) }}, false
        ) as is_default

    from source

)

select * from renamed
