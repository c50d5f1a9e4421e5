{#-
    Source = loaded + merged + quarantined, per CorePlus object. Practitioners
    resolved to a Dataverse user count as merged (into that user); clients'
    organisations are many:1 (accounts, counted on the clients).
-#}

with

counts as (

    select
        'clients' as source_object,
        (select count(*) from {{ ref('stg_coreplus__clients') }}) as source_rows,
        (
            select count(*) from {{ ref('dv_contact') }}
            where mig_sourcekey like 'coreplus:client:%'
        ) as mart_rows,
        0 as merged_rows,
        (
            select count(*) from {{ ref('quarantine_coreplus') }}
            where source_object = 'clients'
        ) as quarantined_rows

    union all

    select
        'practitioners',
        (select count(*) from {{ ref('stg_coreplus__practitioners') }}),
        (
            select count(*) from {{ ref('dv_contact') }}
            where mig_sourcekey like 'coreplus:practitioner:%'
        ),
        (
            select count(*) from {{ ref('int_coreplus__practitioners_resolved') }}
            where resolved_as = 'systemuser'
        ),
        0

    union all

    select
        'referrers',
        (select count(*) from {{ ref('stg_coreplus__referrers') }}),
        (
            select count(*) from {{ ref('dv_account') }}
            where mig_sourcekey like 'coreplus:referrer:%'
        ),
        (select count(*) from {{ ref('int_coreplus__merged_referrers') }}),
        0

    union all

    select
        'client_referrals',
        (
            select count(*) from {{ ref('stg_coreplus__clients') }} as c
            inner join {{ ref('int_coreplus__clients_resolved') }} as r
                on c.client_id = r.client_id
            where c.referrer_id is not null and not r.is_quarantined
        ),
        (select count(*) from {{ ref('dv_mig_clientreferrer') }}),
        0,
        (
            select count(*) from {{ ref('quarantine_coreplus') }}
            where source_object = 'client_referrals'
        )

    union all

    select
        'appointments',
        (select count(*) from {{ ref('stg_coreplus__appointments') }}),
        (select count(*) from {{ ref('dv_appointment') }})
        + (select count(*) from {{ ref('dv_phonecall') }}),
        0,
        (
            select count(*) from {{ ref('quarantine_coreplus') }}
            where source_object = 'appointments'
        )

    union all

    select
        'appointment_types',
        (select count(*) from {{ ref('stg_coreplus__appointment_types') }}),
        (select count(*) from {{ ref('dv_mig_servicetype') }}),
        0,
        0

    union all

    select
        'client_groups',
        (select count(*) from {{ ref('stg_coreplus__client_groups') }}),
        (select count(*) from {{ ref('dv_mig_clientgroup') }}),
        0,
        0

    union all

    select
        'invoices',
        (select count(*) from {{ ref('stg_coreplus__invoices') }}),
        (select count(*) from {{ ref('dv_mig_invoice') }}),
        0,
        (
            select count(*) from {{ ref('quarantine_coreplus') }}
            where source_object = 'invoices'
        )

    union all

    select
        'invoice_line_items',
        (select count(*) from {{ ref('stg_coreplus__invoice_line_items') }}),
        (select count(*) from {{ ref('dv_mig_invoiceline') }}),
        0,
        (
            select count(*) from {{ ref('quarantine_coreplus') }}
            where source_object = 'invoice_line_items'
        )

    union all

    select
        'client_notes',
        (select count(*) from {{ ref('stg_coreplus__client_notes') }}),
        (select count(*) from {{ ref('dv_annotation') }}),
        0,
        (
            select count(*) from {{ ref('quarantine_coreplus') }}
            where source_object = 'client_notes'
        )

)

select * from counts
