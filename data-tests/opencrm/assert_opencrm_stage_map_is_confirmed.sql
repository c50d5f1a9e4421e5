{{ config(severity='warn') }}

{#- The customer has confirmed every row of the stage map before deals are
    loaded (set confirmed_by_customer to true in seeds/opencrm_stage_map.csv). -#}

with

stage_map as (

    select * from {{ ref('opencrm_stage_map') }}

),

unconfirmed as (

    select source_stage
    from stage_map
    where not coalesce(confirmed_by_customer, false)

)

select * from unconfirmed
