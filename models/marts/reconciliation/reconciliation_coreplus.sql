{#-
    Source = loaded + merged + quarantined, per CorePlus object. Practitioners
    resolved to a Dataverse user count as merged (into that user); clients'
    organisations are many:1 (accounts, counted on the clients).
-#}

with

counts as (

    select
        'clients' as source_object,
        (select count(*) as row_count from {{ ref('stg_coreplus__clients') }}) as source_rows,
        (
            select count(*) as row_count from {{ ref('dv_contact') }}
            where mig_sourcekey like 'coreplus:client:%'
        ) as mart_rows,
        0 as merged_rows,
        (
            select count(*) as row_count from {{ ref('quarantine_coreplus') }}
            where source_object = 'clients'
        ) as quarantined_rows

    union all

    select
        'practitioners' as source_object,
        (select count(*) as row_count from {{ ref('stg_coreplus__practitioners') }}) as source_rows,
        (
            select count(*) as row_count from {{ ref('dv_contact') }}
            where mig_sourcekey like 'coreplus:practitioner:%'
        ) as mart_rows,
        (
            select count(*) as row_count from {{ ref('int_coreplus__practitioners_resolved') }}
            where resolved_as = 'systemuser'
        ) as merged_rows,
        0 as quarantined_rows

    union all

    select
        'referrers' as source_object,
        (select count(*) as row_count from {{ ref('stg_coreplus__referrers') }}) as source_rows,
        (
            select count(*) as row_count from {{ ref('dv_account') }}
            where mig_sourcekey like 'coreplus:referrer:%'
        ) as mart_rows,
        (select count(*) as row_count from {{ ref('int_coreplus__merged_referrers') }}
        ) as merged_rows,
        0 as quarantined_rows

    union all

    select
        'client_referrals' as source_object,
        (
            select count(*) as row_count from {{ ref('stg_coreplus__clients') }} as c
            inner join {{ ref('int_coreplus__clients_resolved') }} as r
                on c.client_id = r.client_id
            where c.referrer_id is not null and not r.is_quarantined
        ) as source_rows,
        (select count(*) as row_count from {{ ref('dv_mig_clientreferrer') }}) as mart_rows,
        0 as merged_rows,
        (
            select count(*) as row_count from {{ ref('quarantine_coreplus') }}
            where source_object = 'client_referrals'
        ) as quarantined_rows

    union all

    select
        'appointments' as source_object,
        (select count(*) as row_count from {{ ref('stg_coreplus__appointments') }}) as source_rows,
        (select count(*) as row_count from {{ ref('dv_appointment') }})
        + (select count(*) as row_count from {{ ref('dv_phonecall') }}) as mart_rows,
        0 as merged_rows,
        (
            select count(*) as row_count from {{ ref('quarantine_coreplus') }}
            where source_object = 'appointments'
        ) as quarantined_rows

    union all

    select
        'appointment_types' as source_object,
        (select count(*) as row_count from {{ ref('stg_coreplus__appointment_types') }}
        ) as source_rows,
        (select count(*) as row_count from {{ ref('dv_mig_servicetype') }}) as mart_rows,
        0 as merged_rows,
        0 as quarantined_rows

    union all

    select
        'client_groups' as source_object,
        (select count(*) as row_count from {{ ref('stg_coreplus__client_groups') }}) as source_rows,
        (select count(*) as row_count from {{ ref('dv_mig_clientgroup') }}) as mart_rows,
        0 as merged_rows,
        0 as quarantined_rows

    union all

    select
        'invoices' as source_object,
        (select count(*) as row_count from {{ ref('stg_coreplus__invoices') }}) as source_rows,
        (select count(*) as row_count from {{ ref('dv_mig_invoice') }}) as mart_rows,
        0 as merged_rows,
        (
            select count(*) as row_count from {{ ref('quarantine_coreplus') }}
            where source_object = 'invoices'
        ) as quarantined_rows

    union all

    select
        'invoice_line_items' as source_object,
        (select count(*) as row_count from {{ ref('stg_coreplus__invoice_line_items') }}
        ) as source_rows,
        (select count(*) as row_count from {{ ref('dv_mig_invoiceline') }}) as mart_rows,
        0 as merged_rows,
        (
            select count(*) as row_count from {{ ref('quarantine_coreplus') }}
            where source_object = 'invoice_line_items'
        ) as quarantined_rows

    union all

    select
        'client_notes' as source_object,
        (select count(*) as row_count from {{ ref('stg_coreplus__client_notes') }}) as source_rows,
        (select count(*) as row_count from {{ ref('dv_annotation') }}) as mart_rows,
        0 as merged_rows,
        (
            select count(*) as row_count from {{ ref('quarantine_coreplus') }}
            where source_object = 'client_notes'
        ) as quarantined_rows

)

select * from counts
