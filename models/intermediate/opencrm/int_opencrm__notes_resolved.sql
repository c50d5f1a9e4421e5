{#-
    Every OpenCRM note, validated, with the record it is attached to: one row
    per source row.

    A note needs a title or content, and a parent (Related Module + Related
    To ID, re-pointed at the survivor of a merge) that is loaded: a note whose
    parent is blank, quarantined or missing is quarantined. Its owner is the
    user in Created By; an unresolved one quarantines the note under
    unresolved_owner_policy=hold.
-#}

with

notes as (

    select * from {{ ref('stg_opencrm__notes') }}

),

parent_records as (

    select * from {{ ref('int_opencrm__parent_records') }}

),

owners as (

    select
        user_key,
        hold_reason
    from {{ ref('int_opencrm__owners_resolved') }}

),

resolved as (

    select
        notes.*,
        parent_records.resolved_id as parent_id,
        parent_records.is_quarantined as is_parent_quarantined,
        parent_records.source_id is not null as is_parent_found,
        owners.hold_reason as owner_hold_reason
    from notes
    left join parent_records
        on
            notes.related_module = parent_records.related_module
            and notes.related_to_id = parent_records.source_id
    left join owners
        on coalesce(lower(notes.created_by_user_name), '') = owners.user_key

),

validated as (

    select
        resolved.*,
        nullif(concat_ws(
            '; ',
            {{ reason_if('resolved.note_id is null', 'note id missing or not a number') }},
            {{ reason_if(
                'resolved.title is null and resolved.note_content is null',
                'note has neither title nor content'
            ) }},
            {{ too_long('resolved.title', 500, 'title') }},
            {{ too_long('resolved.note_content', 100000, 'note content') }},
            {{ too_long('resolved.attachment_filename', 255, 'attachment filename') }},
            {{ reason_if(
                "resolved.related_module is null or resolved.related_module not in ('companies', 'contacts', 'opportunities')",
                'related module is not Companies, Contacts or Opportunities'
            ) }},
            {{ reason_if(
                'resolved.related_to_id is null',
                'related to id missing or not a number'
            ) }},
            {{ reason_if('resolved.is_parent_quarantined', 'related record is quarantined') }},
            {{ reason_if(
                "resolved.related_module in ('companies', 'contacts', 'opportunities') and resolved.related_to_id is not null and not resolved.is_parent_found",
                'related record does not exist'
            ) }},
            resolved.owner_hold_reason
        ), '') as quarantine_reasons
    from resolved

),

final as (

    select
        *,
        quarantine_reasons is not null as is_quarantined
    from validated

)

select * from final
