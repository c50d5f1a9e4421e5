{#- One row per invoice line item, quarantined with its invoice. -#}

with

lines as (

    select * from {{ ref('stg_coreplus__invoice_line_items') }}

),

invoices as (

    select * from {{ ref('int_coreplus__invoices_resolved') }}

),

types as (

    select * from {{ ref('stg_coreplus__appointment_types') }}

),

joined as (

    select

        lines.*,
        invoices.invoice_id,
        invoices.owner_systemuser_id,
        invoices.created_at,
        invoices.modified_at,
        types.appointment_type_id is not null as service_type_exists,
        case
            when invoices.invoice_id is null then 'invoice not found'
            when invoices.is_quarantined then 'invoice is quarantined'
        end as quarantine_reasons

    from lines
    left join invoices on lines.invoice_dlt_id = invoices.dlt_id
    left join types on lines.appointment_type_id = types.appointment_type_id

),

final as (

    select

        joined.*,
        joined.quarantine_reasons is not null as is_quarantined

    from joined

)

select * from final
