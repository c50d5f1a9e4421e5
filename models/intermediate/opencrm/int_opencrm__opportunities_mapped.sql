{#-
    Every OpenCRM deal, validated, its pipeline stage mapped through the
    seed opencrm_stage_map and its account and contact resolved: one row per
    source row.

    - A deal whose stage is not in the stage map is quarantined (the test
      assert_opencrm_stages_are_mapped warns with the missing stages), and
      so is a deal whose owner is unresolved under
      unresolved_owner_policy=hold.
    - closeprobability: the deal's own Probability, rounded to an integer,
      else the stage's default; a probability outside 0-100 is replaced by
      the stage default and logged.
    - Won/Lost: real Dataverse closes deals through the WinOpportunity and
      LoseOpportunity actions, not a statecode update, so the intended state
      (stage map statecode/statuscode) is not loaded yet; the source stage
      travels in mig_sourcestage.
-#}

with

opportunities as (

    select * from {{ ref('stg_opencrm__opportunities') }}

),

stage_map as (

    select
        lower(trim(source_stage)) as sales_stage_normalised,
        salesstage,
        stepname,
        closeprobability,
        statecode,
        statuscode,
        confirmed_by_customer
    from {{ ref('opencrm_stage_map') }}

),

companies as (

    select
        company_id,
        survivor_company_id
    from {{ ref('int_opencrm__companies_resolved') }}
    where not is_quarantined

),

contacts as (

    select
        contact_id,
        survivor_contact_id
    from {{ ref('int_opencrm__contacts_resolved') }}
    where not is_quarantined

),

owners as (

    select
        user_key,
        hold_reason
    from {{ ref('int_opencrm__owners_resolved') }}

),

stage_mapped as (

    select
        opportunities.*,
        stage_map.sales_stage_normalised is not null as is_stage_mapped,
        stage_map.salesstage,
        stage_map.stepname,
        stage_map.statecode as mapped_statecode,
        stage_map.statuscode as mapped_statuscode,
        stage_map.closeprobability as stage_closeprobability,
        cast(round(opportunities.probability_percent) as integer)
            as source_closeprobability
    from opportunities
    left join stage_map
        on opportunities.sales_stage_normalised
            = stage_map.sales_stage_normalised

),

validated as (

    select
        stage_mapped.*,
        coalesce(
            stage_mapped.source_closeprobability not between 0 and 100, false
        ) as is_probability_out_of_range,
        case
            when stage_mapped.source_closeprobability between 0 and 100
                then stage_mapped.source_closeprobability
            else stage_mapped.stage_closeprobability
        end as closeprobability,
        nullif(concat_ws(
            '; ',
            {{ reason_if(
                'stage_mapped.opportunity_id is null',
                'record id missing or not a number'
            ) }},
            {{ reason_if(
                'stage_mapped.opportunity_name is null', 'opportunity name is blank'
            ) }},
            case
                when not stage_mapped.is_stage_mapped
                    then 'sales stage not in stage map: '
                        || coalesce(stage_mapped.sales_stage, '(blank)')
            end,
            {{ too_long('stage_mapped.opportunity_name', 300, 'opportunity name') }},
            {{ too_long('stage_mapped.description', 2000, 'description') }},
            {{ too_long('stage_mapped.sales_stage', 100, 'sales stage') }},
            {{ too_long('stage_mapped.competitor', 100, 'cf_801 competitor') }},
            owners.hold_reason
        ), '') as quarantine_reasons
    from stage_mapped
    left join owners
        on coalesce(lower(stage_mapped.assigned_to_user_name), '') = owners.user_key

),

lookups_resolved as (

    select
        validated.* exclude (company_id, contact_id),
        validated.company_id as source_company_id,
        validated.contact_id as source_contact_id,
        companies.survivor_company_id as company_id,
        contacts.survivor_contact_id as contact_id,
        validated.quarantine_reasons is not null as is_quarantined
    from validated
    left join companies
        on validated.company_id = companies.company_id
    left join contacts
        on validated.contact_id = contacts.contact_id

)

select * from lookups_resolved
