{#-
    CorePlus client notes as dv_annotation rows: drafts carry mig_isdraft; a
    note with no practitioner (or an unknown one) goes to the fallback owner.
-#}

with

notes as (

    select * from {{ ref('int_coreplus__notes_resolved') }}
    where not is_quarantined

),

annotations as (

    select

        {{ dv_guid('coreplus', 'note', 'notes.note_id') }} as annotationid,
        {{ source_key('coreplus', 'note', 'notes.note_id') }} as mig_sourcekey,
        cast(null as varchar) as objectid_account,
        {{ dv_guid('coreplus', 'client', 'notes.client_id') }} as objectid_contact,
        cast(null as varchar) as objectid_opportunity,
        coalesce(
            notes.owner_systemuser_id, {{ fallback_owner_id() }}
        ) as ownerid,
        coalesce(notes.subject, notes.note_type || ' note') as subject,
        notes.body as notetext,
        cast(null as varchar) as filename,
        notes.is_draft as mig_isdraft,
        coalesce(notes.noted_at, notes.created_at) as overriddencreatedon,
        notes.modified_at as mig_sourcemodifiedon

    from notes

)

select * from annotations
