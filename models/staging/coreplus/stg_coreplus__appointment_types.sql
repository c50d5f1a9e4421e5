with

source as (

    select * from {{ source('coreplus', 'appointment_types') }}

),

renamed as (

    select

        ---------- ids
        lower(trim(appointment_type_id)) as appointment_type_id,

        ---------- strings
        {{ clean_text('description') }} as description,
        {{ clean_text('category') }} as category,
        {{ clean_text('item_number') }} as item_number,

        ---------- numerics
        try_cast(duration_minutes as integer) as duration_minutes,
        try_cast(trim(fee) as decimal(19, 4)) as fee,
        try_cast(stock_level as integer) as stock_level,

        ---------- timestamps
        timezone('UTC', try_cast(date_created as timestamptz)) as created_at,
        timezone('UTC', try_cast(date_modified as timestamptz)) as modified_at

    from source

)

select * from renamed
