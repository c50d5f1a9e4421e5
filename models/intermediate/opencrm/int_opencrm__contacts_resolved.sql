{#-
    Every OpenCRM contact, validated, with its company resolved and
    duplicates merged: one row per source row.

    - quarantine_reasons: why the row cannot be loaded safely (null if it can),
      including an unresolved owner under unresolved_owner_policy=hold.
    - Company: by Company ID (re-pointed at the surviving company), else
      (blank, unknown or quarantined id) by the normalised Company Name. A
      contact whose company cannot be resolved
      is kept without a parent account and logged in data_quality_issues.
    - Duplicates: loadable contacts with the same valid email AND the same
      normalised first + last name merge into the lowest record id. Different
      people sharing one email are kept and flagged (has_shared_email).
    - Invalid emails are dropped to null (the row is kept; logged).
-#}

with

contacts as (

    select * from {{ ref('stg_opencrm__contacts') }}

),

companies as (

    select * from {{ ref('int_opencrm__companies_resolved') }}

),

loadable_companies as (

    select
        company_id,
        survivor_company_id
    from companies
    where not is_quarantined

),

owners as (

    select
        user_key,
        hold_reason
    from {{ ref('int_opencrm__owners_resolved') }}

),

companies_by_name as (

    select
        company_name_normalised,
        min(survivor_company_id) as survivor_company_id
    from companies
    where is_survivor
    group by 1

),

validated as (

    select
        contacts.*,
        case when contacts.is_email_valid then contacts.email_address end
            as valid_email_address,
        case
            when contacts.is_other_email_valid
                then contacts.other_email_address
        end as valid_other_email_address,
        nullif(concat_ws(
            '; ',
            {{ reason_if('contacts.contact_id is null', 'record id missing or not a number') }},
            {{ reason_if('contacts.last_name is null', 'last name is blank') }},
            {{ too_long('contacts.first_name', 50, 'first name') }},
            {{ too_long('contacts.last_name', 50, 'last name') }},
            {{ too_long('contacts.job_title', 100, 'job title') }},
            {{ too_long('contacts.department', 100, 'department') }},
            case
                when contacts.is_email_valid
                    then {{ too_long('contacts.email_address', 100, 'email') }}
            end,
            case
                when contacts.is_other_email_valid
                    then {{ too_long('contacts.other_email_address', 100, 'other email') }}
            end,
            {{ too_long('contacts.phone', 50, 'phone') }},
            {{ too_long('contacts.mobile_phone', 50, 'mobile') }},
            {{ too_long('contacts.home_phone', 50, 'home phone') }},
            {{ too_long('contacts.mailing_street', 250, 'mailing street') }},
            {{ too_long('contacts.mailing_city', 80, 'mailing city') }},
            {{ too_long('contacts.mailing_county', 50, 'mailing county') }},
            {{ too_long('contacts.mailing_postcode', 20, 'mailing postcode') }},
            {{ too_long('contacts.mailing_country', 80, 'mailing country') }},
            {{ too_long('contacts.description', 2000, 'description') }},
            owners.hold_reason
        ), '') as quarantine_reasons
    from contacts
    left join owners
        on coalesce(lower(contacts.assigned_to_user_name), '') = owners.user_key

),

company_resolved_by_id as (

    select
        validated.* exclude (company_id),  -- noqa: RF02
        validated.company_id as source_company_id,
        companies_by_id.survivor_company_id as company_id_by_id,
        {# normalise the name only where the id did not resolve #}
        case
            when companies_by_id.survivor_company_id is null
                then {{ normalise_company_name('validated.company_name') }}
        end as company_name_normalised
    from validated
    left join loadable_companies as companies_by_id
        on validated.company_id = companies_by_id.company_id

),

company_resolved as (

    select
        company_resolved_by_id.* exclude (company_id_by_id),  -- noqa: RF02
        coalesce(
            company_resolved_by_id.company_id_by_id,
            companies_by_name.survivor_company_id
        ) as company_id,
        case
            when company_resolved_by_id.company_id_by_id is not null then 'id'
            when companies_by_name.survivor_company_id is not null then 'name'
        end as company_resolved_by
    from company_resolved_by_id
    left join companies_by_name
        on
            company_resolved_by_id.company_name_normalised
            = companies_by_name.company_name_normalised

),

deduplicated as (

    select
        company_resolved.*,
        company_resolved.quarantine_reasons is not null as is_quarantined,
        case
            when company_resolved.quarantine_reasons is not null then null
            when company_resolved.valid_email_address is null
                then company_resolved.contact_id
            else min(company_resolved.contact_id) over (
                    partition by
                        company_resolved.quarantine_reasons is null,
                        company_resolved.valid_email_address,
                        company_resolved.full_name_normalised
                )
        end as survivor_contact_id,
        coalesce(
            company_resolved.valid_email_address is not null
            and min(company_resolved.full_name_normalised)
                over (
                    partition by
                        company_resolved.quarantine_reasons is null,
                        company_resolved.valid_email_address
                )
            != max(company_resolved.full_name_normalised) over (
                partition by
                    company_resolved.quarantine_reasons is null,
                    company_resolved.valid_email_address
            ),
            false
        ) as has_shared_email
    from company_resolved

),

final as (

    select
        *,
        coalesce(contact_id = survivor_contact_id, false) as is_survivor,
        coalesce(contact_id != survivor_contact_id, false) as is_merged
    from deduplicated

)

select * from final
