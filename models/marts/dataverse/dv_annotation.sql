{#-
    Which source feeds this mart: var migration_source (dbt_project.yml).
    A migration runs one source at a time; CorePlus rows are mapped in
    int_coreplus__annotations_mapped, OpenCRM rows below.
-#}
{% if var('migration_source', 'opencrm') == 'coreplus' %}

select * from {{ ref('int_coreplus__annotations_mapped') }}

{% else %}

with

notes as (

    select * from {{ ref('int_opencrm__notes_resolved') }}
    where not is_quarantined

),

owners as (

    select * from {{ ref('int_opencrm__owners_resolved') }}

),

annotations as (

    select

        ---------- ids
        {{ dv_guid('opencrm', 'note', 'notes.note_id') }} as annotationid,
        {{ source_key('opencrm', 'note', 'notes.note_id') }} as mig_sourcekey,
        case
            when notes.related_module = 'companies'
                then {{ dv_guid('opencrm', 'company', 'notes.parent_id') }}
        end as objectid_account,
        case
            when notes.related_module = 'contacts'
                then {{ dv_guid('opencrm', 'contact', 'notes.parent_id') }}
        end as objectid_contact,
        case
            when notes.related_module = 'opportunities'
                then {{ dv_guid('opencrm', 'opportunity', 'notes.parent_id') }}
        end as objectid_opportunity,
        owners.owner_systemuser_id as ownerid,

        ---------- strings
        notes.title as subject,
        notes.note_content as notetext,
        notes.attachment_filename as filename,
        cast(null as boolean) as mig_isdraft,

        ---------- timestamps
        notes.created_at as overriddencreatedon,
        notes.modified_at as mig_sourcemodifiedon

    from notes
    left join owners
        on coalesce(lower(notes.created_by_user_name), '') = owners.user_key

)

select * from annotations

{% endif %}
