{#-
    One row per business among the clients' organisation names (many:1):
    the account every such client's contact points to. The account's name
    is the spelling most clients use (ties: the alphabetically first).
    Only clients that are loaded count.
-#}

with

clients as (

    select * from {{ ref('int_coreplus__clients_resolved') }}
    where organisation_key is not null and not is_quarantined

),

spellings as (

    select

        organisation_key,
        organisation_name,
        count(*) as client_count

    from clients
    group by 1, 2

),

preferred as (

    select

        organisation_key,
        organisation_name

    from spellings
    qualify
        row_number() over (
            partition by organisation_key
            order by client_count desc, organisation_name asc
        ) = 1

),

organisations as (

    select

        preferred.organisation_key,
        preferred.organisation_name,
        count(*) as client_count,
        min(clients.created_at) as created_at,
        max(clients.modified_at) as modified_at

    from preferred
    inner join clients
        on preferred.organisation_key = clients.organisation_key
    group by 1, 2

)

select * from organisations
