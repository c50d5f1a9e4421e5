{#-
    One row per CorePlus referrer with its survivor: referrers entered twice
    (the same provider number) merge into the one with the lowest id.
    Referrers without a provider number are organisations and never merge.
    referrer_type is Physician (a person) or Organization.
-#}

with

referrers as (

    select * from {{ ref('stg_coreplus__referrers') }}

),

ranked as (

    select

        referrers.*,
        case
            when referrers.provider_number is null then referrers.referrer_id
            else
                first_value(referrers.referrer_id) over (
                    partition by referrers.provider_number
                    order by referrers.referrer_id
                )
        end as survivor_referrer_id,
        case
            when referrers.last_name is not null then 'Physician'
            else 'Organization'
        end as referrer_type,
        coalesce(
            nullif(
                concat_ws(
                    ' ',
                    referrers.title,
                    referrers.first_name,
                    referrers.last_name
                ),
                ''
            )
            || coalesce(' (' || referrers.practice_name || ')', ''),
            referrers.practice_name
        ) as display_name

    from referrers

),

final as (

    select

        ranked.*,
        ranked.referrer_id = ranked.survivor_referrer_id as is_survivor

    from ranked

)

select * from final
