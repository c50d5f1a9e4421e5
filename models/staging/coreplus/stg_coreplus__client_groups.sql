with

source as (

    select * from {{ source('coreplus', 'client_groups') }}

),

renamed as (

    select

        ---------- ids
        lower(trim(client_group_id)) as client_group_id,

        ---------- strings
        {{ clean_text('name') }} as group_name,
        {{ clean_text('description') }} as description,

        ---------- timestamps
        timezone('UTC', try_cast(date_created as timestamptz)) as created_at,
        timezone('UTC', try_cast(date_modified as timestamptz)) as modified_at

    from source

)

select * from renamed
