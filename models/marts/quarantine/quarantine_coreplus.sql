{#-
    One row per CorePlus record held back, with every reason ('; '-joined):
    deleted clients and everything that hangs off them (appointments,
    invoices and their lines, notes), blank names, unmapped service
    categories or statuses, missing parents, and referrals to a referrer
    that does not exist.
-#}

with

clients as (

    select * from {{ ref('int_coreplus__clients_resolved') }}

),

appointments as (

    select * from {{ ref('int_coreplus__appointments_resolved') }}

),

invoices as (

    select * from {{ ref('int_coreplus__invoices_resolved') }}

),

invoice_lines as (

    select * from {{ ref('int_coreplus__invoice_lines_resolved') }}

),

notes as (

    select * from {{ ref('int_coreplus__notes_resolved') }}

),

referrers as (

    select referrer_id from {{ ref('stg_coreplus__referrers') }}

),

quarantined as (

    select
        'clients' as source_object,
        client_id as source_id,
        quarantine_reasons as reasons
    from clients
    where is_quarantined

    union all

    select
        'appointments' as source_object,
        appointment_id as source_id,
        quarantine_reasons as reasons
    from appointments
    where is_quarantined

    union all

    select
        'invoices' as source_object,
        invoice_id as source_id,
        quarantine_reasons as reasons
    from invoices
    where is_quarantined

    union all

    select
        'invoice_line_items' as source_object,
        line_item_id as source_id,
        quarantine_reasons as reasons
    from invoice_lines
    where is_quarantined

    union all

    select
        'client_notes' as source_object,
        note_id as source_id,
        quarantine_reasons as reasons
    from notes
    where is_quarantined

    union all

    select
        'client_referrals' as source_object,
        clients.client_id as source_id,
        'referrer not found' as reasons
    from clients
    left join referrers on clients.referrer_id = referrers.referrer_id
    where
        not clients.is_quarantined
        and clients.referrer_id is not null
        and referrers.referrer_id is null

)

select * from quarantined
