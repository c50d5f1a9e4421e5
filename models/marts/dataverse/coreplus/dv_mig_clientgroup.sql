with

client_groups as (

    select * from {{ ref('stg_coreplus__client_groups') }}

),

groups as (

    select

        ---------- ids
        {{ dv_guid('coreplus', 'client_group', 'client_groups.client_group_id') }}
            as mig_clientgroupid,
        {{ source_key('coreplus', 'client_group', 'client_groups.client_group_id') }}
            as mig_sourcekey,
        {{ fallback_owner_id() }} as ownerid,

        ---------- strings
        left(client_groups.group_name, 100) as mig_name,
        client_groups.description as mig_description,

        ---------- timestamps
        client_groups.created_at as overriddencreatedon,
        client_groups.modified_at as mig_sourcemodifiedon

    from client_groups

)

select * from groups
