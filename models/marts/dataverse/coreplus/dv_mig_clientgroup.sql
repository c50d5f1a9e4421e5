with

client_groups as (

    select * from {{ ref('stg_coreplus__client_groups') }}

),

fallback as (

    select systemuser_id
    from {{ ref('stg_dataverse__systemusers') }}
    where
        email_address = lower('{{ var("fallback_owner_email") }}')
        and not is_disabled

),

groups as (

    select

        ---------- ids
        {{ dv_guid('coreplus', 'client_group', 'client_groups.client_group_id') }}
            as mig_clientgroupid,
        {{ source_key('coreplus', 'client_group', 'client_groups.client_group_id') }}
            as mig_sourcekey,
        (select fallback.systemuser_id from fallback) as ownerid,

        ---------- strings
        left(client_groups.group_name, 100) as mig_name,
        client_groups.description as mig_description,

        ---------- timestamps
        client_groups.created_at as overriddencreatedon,
        client_groups.modified_at as mig_sourcemodifiedon

    from client_groups

)

select * from groups
