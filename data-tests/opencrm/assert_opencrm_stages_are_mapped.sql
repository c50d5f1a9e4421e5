{{ config(severity='warn') }}

{#- Every OpenCRM Sales Stage has a row in seeds/opencrm_stage_map.csv.
    Deals with an unmapped stage are quarantined; this warning lists the
    stages to add (and have the customer confirm). -#}

with

opportunities as (

    select * from {{ ref('stg_opencrm__opportunities') }}

),

stage_map as (

    select lower(trim(source_stage)) as sales_stage_normalised
    from {{ ref('opencrm_stage_map') }}

),

unmapped_stages as (

    select
        coalesce(opportunities.sales_stage, '(blank)') as sales_stage,
        count(*) as opportunities
    from opportunities
    left join stage_map
        on opportunities.sales_stage_normalised
            = stage_map.sales_stage_normalised
    where stage_map.sales_stage_normalised is null
    group by 1

)

select * from unmapped_stages
