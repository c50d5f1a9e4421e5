{#- One row per referrer merged into another (same provider number). -#}

with

referrers as (

    select * from {{ ref('int_coreplus__referrers_resolved') }}

),

merged as (

    select

        referrer_id,
        survivor_referrer_id,
        provider_number

    from referrers
    where not is_survivor

)

select * from merged
