{#-
    The client-referrer junction: one row per loaded client with a referrer,
    pointing at the surviving referrer's account (duplicates merged).
-#}

with

clients as (

    select * from {{ ref('int_coreplus__clients_resolved') }}
    where not is_quarantined and referrer_id is not null

),

referrers as (

    select * from {{ ref('int_coreplus__referrers_resolved') }}

),

junction as (

    select

        ---------- ids
        {{ dv_guid('coreplus', 'client_referrer', 'clients.client_id') }}
            as mig_clientreferrerid,
        {{ source_key('coreplus', 'client_referrer', 'clients.client_id') }}
            as mig_sourcekey,
        {{ dv_guid('coreplus', 'client', 'clients.client_id') }} as mig_contactid,
        {{ dv_guid('coreplus', 'referrer', 'referrers.survivor_referrer_id') }}
            as mig_accountid,
        clients.owner_systemuser_id as ownerid,

        ---------- strings
        left(
            concat_ws(' ', clients.first_name, clients.last_name)
            || ' referred by '
            || referrers.display_name,
            100
        ) as mig_name,

        ---------- timestamps
        clients.created_at as overriddencreatedon,
        clients.modified_at as mig_sourcemodifiedon

    from clients
    inner join referrers on clients.referrer_id = referrers.referrer_id

)

select * from junction
