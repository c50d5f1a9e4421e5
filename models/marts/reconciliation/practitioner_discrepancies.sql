{#-
    CorePlus practitioners with no enabled Dataverse user: loaded as contacts
    (practitioner role); their records (clients, appointments, invoices,
    notes) go to the fallback owner or are held back in quarantine_coreplus,
    by var unresolved_owner_policy (outcome). Create the user (or fix the
    email) before the full load to change that.
-#}

with

practitioners as (

    select * from {{ ref('int_coreplus__practitioners_resolved') }}

),

discrepancies as (

    select

        practitioner_id,
        concat_ws(' ', first_name, last_name) as practitioner_name,
        email_address,
        discrepancy,
        outcome,
        hold_reason,
        owner_systemuser_id as fallback_owner_systemuser_id

    from practitioners
    where discrepancy is not null

)

select * from discrepancies
