with

source as (

    select * from {{ source('coreplus', 'appointments__clients') }}

),

renamed as (

    select

        ---------- ids
        _dlt_parent_id as appointment_dlt_id,
        -- CorePlus sends some client GUIDs in upper case: ids compare in lower case
        lower({{ clean_text('client_id') }}) as client_id,
        _dlt_list_idx as client_position

    from source

)

select * from renamed
