with

source as (

    select * from {{ source('coreplus', 'invoices__line_items') }}

),

renamed as (

    select

        ---------- ids
        lower(trim(line_item_id)) as line_item_id,
        _dlt_parent_id as invoice_dlt_id,
        lower({{ clean_text('product_id') }}) as appointment_type_id,

        ---------- strings
        {{ clean_text('description') }} as description,
        {{ clean_text('item_number') }} as item_number,

        ---------- numerics
        try_cast(quantity as decimal(19, 4)) as quantity,
        try_cast(trim(unit_amount) as decimal(19, 4)) as unit_amount,
        try_cast(trim(tax_amount) as decimal(19, 4)) as tax_amount,
        try_cast(trim(line_amount) as decimal(19, 4)) as line_amount

    from source

)

select * from renamed
