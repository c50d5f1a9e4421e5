with

lines as (

    select * from {{ ref('int_coreplus__invoice_lines_resolved') }}
    where not is_quarantined

),

invoice_lines as (

    select

        ---------- ids
        {{ dv_guid('coreplus', 'invoice_line', 'lines.line_item_id') }}
            as mig_invoicelineid,
        {{ source_key('coreplus', 'invoice_line', 'lines.line_item_id') }}
            as mig_sourcekey,
        {{ dv_guid('coreplus', 'invoice', 'lines.invoice_id') }} as mig_invoiceid,
        case
            when lines.service_type_exists
                then {{ dv_guid('coreplus', 'service_type', 'lines.appointment_type_id') }}
        end as mig_servicetypeid,
        coalesce(lines.owner_systemuser_id, {{ fallback_owner_id() }})
            as ownerid,

        ---------- strings
        left(coalesce(lines.description, 'Line item'), 100) as mig_name,
        lines.item_number as mig_itemnumber,

        ---------- numerics
        lines.quantity as mig_quantity,
        lines.unit_amount as mig_unitprice,
        lines.tax_amount as mig_taxamount,
        lines.line_amount as mig_lineamount,

        ---------- timestamps
        lines.created_at as overriddencreatedon,
        lines.modified_at as mig_sourcemodifiedon

    from lines

)

select * from invoice_lines
