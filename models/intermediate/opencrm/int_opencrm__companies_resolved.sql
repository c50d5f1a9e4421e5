{#-
    Every OpenCRM company, validated, deduplicated and with its parent
    resolved: one row per source row.

    - quarantine_reasons: why the row cannot be loaded safely (null if it can),
      including an unresolved owner under unresolved_owner_policy=hold.
    - Duplicates: loadable companies sharing a normalised name
      (normalise_company_name) merge into the lowest record id, the survivor.
    - parent_company_id (Member Of) is re-pointed at its survivor; a parent
      that is quarantined, missing, or the company itself is dropped and
      logged in data_quality_issues.
-#}

with

companies as (

    select * from {{ ref('stg_opencrm__companies') }}

),

owners as (

    select
        user_key,
        hold_reason
    from {{ ref('int_opencrm__owners_resolved') }}

),

validated as (

    select
        companies.*,
        nullif(concat_ws(
            '; ',
            {{ reason_if('companies.company_id is null', 'record id missing or not a number') }},
            {{ reason_if('companies.company_name is null', 'company name is blank') }},
            {{ too_long('companies.company_name', 160, 'company name') }},
            {{ too_long('companies.phone', 50, 'phone') }},
            {{ too_long('companies.fax', 50, 'fax') }},
            case
                when companies.is_email_valid
                    then {{ too_long('companies.email_address', 100, 'email') }}
            end,
            {{ too_long('companies.website', 200, 'website') }},
            {{ too_long('companies.billing_street', 250, 'billing street') }},
            {{ too_long('companies.billing_city', 80, 'billing city') }},
            {{ too_long('companies.billing_county', 50, 'billing county') }},
            {{ too_long('companies.billing_postcode', 20, 'billing postcode') }},
            {{ too_long('companies.billing_country', 80, 'billing country') }},
            {{ too_long('companies.description', 2000, 'description') }},
            {{ too_long('companies.sector_code', 100, 'cf_601 sector code') }},
            owners.hold_reason
        ), '') as quarantine_reasons
    from companies
    left join owners
        on coalesce(lower(companies.assigned_to_user_name), '') = owners.user_key

),

deduplicated as (

    select
        validated.*,
        validated.quarantine_reasons is not null as is_quarantined,
        case
            when validated.quarantine_reasons is null
                then min(validated.company_id) over (
                        partition by
                            validated.quarantine_reasons is null,
                            validated.company_name_normalised
                    )
        end as survivor_company_id
    from validated

),

loadable as (

    select
        company_id,
        survivor_company_id
    from deduplicated
    where not is_quarantined

),

parent_resolved as (

    select
        deduplicated.* exclude (parent_company_id),
        deduplicated.parent_company_id as source_parent_company_id,
        case
            when parents.survivor_company_id != deduplicated.survivor_company_id
                then parents.survivor_company_id
        end as parent_company_id,
        coalesce(
            deduplicated.company_id = deduplicated.survivor_company_id, false
        ) as is_survivor,
        coalesce(
            deduplicated.company_id != deduplicated.survivor_company_id, false
        ) as is_merged
    from deduplicated
    left join loadable as parents
        on deduplicated.parent_company_id = parents.company_id

)

select * from parent_resolved
