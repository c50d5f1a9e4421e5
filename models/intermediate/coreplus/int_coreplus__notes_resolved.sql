{#-
    One row per client note (draft or final): an annotation on the client's
    contact, with the draft flag. Quarantined: a client that is missing,
    deleted or quarantined, a note with neither subject nor body, or (var
    unresolved_owner_policy=hold) a note whose practitioner has no enabled
    Dataverse user.
-#}

with

notes as (

    select * from {{ ref('stg_coreplus__client_notes') }}

),

clients as (

    select * from {{ ref('int_coreplus__clients_resolved') }}

),

practitioners as (

    select * from {{ ref('int_coreplus__practitioners_resolved') }}

),

joined as (

    select

        notes.*,
        practitioners.owner_systemuser_id,
        nullif(
            concat_ws(
                '; ',
                case
                    when clients.client_id is null then 'client not found'
                    when clients.is_quarantined then 'client is quarantined'
                end,
                case
                    when notes.subject is null and notes.body is null
                        then 'note has neither subject nor body'
                end,
                {{ coreplus_owner_hold_reason('notes.practitioner_id', 'practitioners') }}
            ),
            ''
        ) as quarantine_reasons

    from notes
    left join clients on notes.client_id = clients.client_id
    left join practitioners
        on notes.practitioner_id = practitioners.practitioner_id

),

final as (

    select

        joined.*,
        joined.quarantine_reasons is not null as is_quarantined

    from joined

)

select * from final
