with

source as (

    select * from {{ source('coreplus', 'payments') }}

),

renamed as (

    select

        ---------- ids
        lower(trim(payment_id)) as payment_id,
        lower({{ clean_text('invoice_id') }}) as invoice_id,
        lower({{ clean_text('client_id') }}) as client_id,

        ---------- strings
        {{ clean_text('payment_method') }} as payment_method,
        {{ clean_text('type') }} as payment_type,

        ---------- numerics (strings, inconsistent: "70" and "70.00")
        try_cast(trim(amount_paid) as decimal(19, 4)) as amount_paid,

        ---------- dates
        try_cast(date_paid as date) as paid_on,

        ---------- timestamps
        timezone('UTC', try_cast(date_modified as timestamptz)) as modified_at

    from source

)

select * from renamed
