{#-
    One row per CorePlus invoice, with what was paid (payments rolled up onto
    their invoice) and a status: Paid, Part paid or Unpaid. Quarantined:
    invoices of a client that is missing, deleted or quarantined, invoices
    with no number, and (unresolved_owner_policy=hold) invoices whose
    practitioner has no enabled Dataverse user. Lines follow their invoice.
-#}

with

invoices as (

    select * from {{ ref('stg_coreplus__invoices') }}

),

payments as (

    select

        invoice_id,
        count(*) as payment_count,
        sum(case when lower(payment_type) = 'refund' then -amount_paid else amount_paid end)
            as amount_paid,
        max(paid_on) as last_paid_on

    from {{ ref('stg_coreplus__payments') }}
    group by 1

),

clients as (

    select * from {{ ref('int_coreplus__clients_resolved') }}

),

practitioners as (

    select * from {{ ref('int_coreplus__practitioners_resolved') }}

),

joined as (

    select

        invoices.*,
        coalesce(payments.amount_paid, 0) as amount_paid,
        coalesce(payments.payment_count, 0) as payment_count,
        case
            when invoices.amount_owing = 0 then 'Paid'
            when coalesce(payments.amount_paid, 0) > 0 then 'Part paid'
            else 'Unpaid'
        end as invoice_status,
        practitioners.owner_systemuser_id,
        nullif(
            concat_ws(
                '; ',
                case
                    when clients.client_id is null then 'client not found'
                    when clients.is_quarantined then 'client is quarantined'
                end,
                case when invoices.invoice_number is null then 'invoice number is blank' end,
                {{ coreplus_owner_hold_reason('invoices.practitioner_id', 'practitioners') }}
            ),
            ''
        ) as quarantine_reasons

    from invoices
    left join payments on invoices.invoice_id = payments.invoice_id
    left join clients on invoices.client_id = clients.client_id
    left join practitioners
        on invoices.practitioner_id = practitioners.practitioner_id

),

final as (

    select

        joined.*,
        joined.quarantine_reasons is not null as is_quarantined

    from joined

)

select * from final
