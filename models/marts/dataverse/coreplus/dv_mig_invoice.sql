with

invoices as (

    select * from {{ ref('int_coreplus__invoices_resolved') }}
    where not is_quarantined

),

dataverse_invoices as (

    select

        ---------- ids
        {{ dv_guid('coreplus', 'invoice', 'invoices.invoice_id') }} as mig_invoiceid,
        {{ source_key('coreplus', 'invoice', 'invoices.invoice_id') }} as mig_sourcekey,
        {{ dv_guid('coreplus', 'client', 'invoices.client_id') }} as mig_contactid,
        coalesce(invoices.owner_systemuser_id, {{ fallback_owner_id() }})
            as ownerid,

        ---------- strings
        invoices.invoice_number as mig_name,
        invoices.invoice_status as mig_status,

        ---------- numerics
        invoices.total_amount as mig_totalamount,
        invoices.amount_owing as mig_amountowing,
        cast(invoices.amount_paid as decimal(19, 4)) as mig_amountpaid,

        ---------- booleans
        invoices.is_locked as mig_locked,

        ---------- dates
        invoices.issued_on as mig_issuedon,

        ---------- timestamps
        invoices.created_at as overriddencreatedon,
        invoices.modified_at as mig_sourcemodifiedon

    from invoices

)

select * from dataverse_invoices
