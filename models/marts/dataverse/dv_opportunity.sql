with

opportunities as (

    select * from {{ ref('int_opencrm__opportunities_mapped') }}
    where not is_quarantined

),

owners as (

    select * from {{ ref('int_opencrm__owners_resolved') }}

),

dataverse_opportunities as (

    select

        ---------- ids
        {{ dv_guid('opencrm', 'opportunity', 'opportunities.opportunity_id') }}
            as opportunityid,
        {{ source_key('opencrm', 'opportunity', 'opportunities.opportunity_id') }}
            as mig_sourcekey,
        {{ dv_guid('opencrm', 'company', 'opportunities.company_id') }}
            as parentaccountid,
        {{ dv_guid('opencrm', 'contact', 'opportunities.contact_id') }}
            as parentcontactid,
        owners.owner_systemuser_id as ownerid,

        ---------- strings
        opportunities.opportunity_name as name,
        opportunities.stepname,
        opportunities.description,
        opportunities.sales_stage as mig_sourcestage,
        opportunities.competitor as mig_competitor,

        ---------- numerics
        case
            when opportunities.amount between -1000000000000 and 1000000000000
                then opportunities.amount
        end as estimatedvalue,
        opportunities.closeprobability,
        opportunities.salesstage,

        ---------- dates
        opportunities.expected_close_date as estimatedclosedate,

        ---------- timestamps
        opportunities.created_at as overriddencreatedon,
        opportunities.modified_at as mig_sourcemodifiedon

    from opportunities
    left join owners
        on
            coalesce(lower(opportunities.assigned_to_user_name), '')
            = owners.user_key

)

select * from dataverse_opportunities
