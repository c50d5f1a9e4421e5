with

source as (

    select * from {{ source('coreplus', 'invoices') }}

),

renamed as (

    select

        ---------- ids
        lower(trim(invoice_id)) as invoice_id,
        lower({{ clean_text('client_id') }}) as client_id,
        lower({{ clean_text('practitioner_id') }}) as practitioner_id,
        lower({{ clean_text('appointment_id') }}) as appointment_id,
        {{ clean_text('invoice_number') }} as invoice_number,

        ---------- numerics (money arrives as strings: "50.0", "50.00")
        try_cast(trim(total_amount) as decimal(19, 4)) as total_amount,
        try_cast(trim(amount_owing) as decimal(19, 4)) as amount_owing,

        ---------- booleans
        locked as is_locked,

        ---------- dates
        try_cast(generated_at as date) as issued_on,

        ---------- timestamps
        timezone('UTC', try_cast(date_created as timestamptz)) as created_at,
        timezone('UTC', try_cast(date_modified as timestamptz)) as modified_at,

        ---------- lineage
        _dlt_id as dlt_id

    from source

)

select * from renamed
