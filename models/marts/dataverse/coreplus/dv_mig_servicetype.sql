with

types as (

    select * from {{ ref('stg_coreplus__appointment_types') }}

),

service_map as (

    select * from {{ ref('coreplus_service_type_map') }}

),

service_types as (

    select

        ---------- ids
        {{ dv_guid('coreplus', 'service_type', 'types.appointment_type_id') }}
            as mig_servicetypeid,
        {{ source_key('coreplus', 'service_type', 'types.appointment_type_id') }}
            as mig_sourcekey,
        {{ fallback_owner_id() }} as ownerid,

        ---------- strings
        left(types.description, 100) as mig_name,
        types.category as mig_category,
        types.item_number as mig_itemnumber,
        service_map.dataverse_table as mig_activitytable,

        ---------- numerics
        types.duration_minutes as mig_durationminutes,
        types.fee as mig_fee,
        types.stock_level as mig_stocklevel,

        ---------- timestamps
        types.created_at as overriddencreatedon,
        types.modified_at as mig_sourcemodifiedon

    from types
    left join service_map
        on lower(trim(types.category)) = lower(trim(service_map.service_category))

)

select * from service_types
