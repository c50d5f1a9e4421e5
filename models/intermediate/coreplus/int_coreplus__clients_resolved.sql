{#-
    One row per CorePlus client with what the marts need: validation
    (quarantine reasons), the organisation split, the suburb/state repair and
    the contact's state.

    Organisation split: a client's organisationName becomes an Account when
    it names a business - not blank, not a placeholder (Private, Self, N/A,
    none, -) and not the client's own name. Spellings of one business
    (Pty Ltd, Pty. Ltd., P/L, Pty Limited, any case) share one account.
    Quarantined: clients deleted in CorePlus, clients with no first or
    last name (Dataverse needs a last name, CorePlus requires both), and -
    under unresolved_owner_policy=hold - clients whose practitioner has no
    enabled Dataverse user (their appointments, invoices and notes follow).
-#}

with

clients as (

    select * from {{ ref('stg_coreplus__clients') }}

),

practitioners as (

    select * from {{ ref('int_coreplus__practitioners_resolved') }}

),

split as (

    select

        clients.*,
        -- "Bondi Junction NSW" with no state: the state is glued to the suburb
        case
            when
                clients.state is null
                and regexp_matches(
                    clients.suburb, ' (NSW|VIC|QLD|WA|SA|TAS|ACT|NT)$'
                )
                then regexp_extract(
                        clients.suburb, ' (NSW|VIC|QLD|WA|SA|TAS|ACT|NT)$', 1
                    )
            else clients.state
        end as state_repaired,
        trim(
            regexp_replace(
                clients.suburb, ' (NSW|VIC|QLD|WA|SA|TAS|ACT|NT)$', ''
            )
        ) as suburb_repaired,
        case
            when clients.organisation_name is null then false
            when
                lower(clients.organisation_name)
                in ('private', 'self', 'n/a', 'na', 'none', '-')
                then false
            when
                lower(clients.organisation_name)
                = lower(
                    concat_ws(' ', clients.first_name, clients.last_name)
                )
                then false
            else true
        end as is_organisation_client,
        nullif(
            trim(
                regexp_replace(
                    {{ normalise_company_name('clients.organisation_name') }},
                    '( (pty|p l|proprietary))+$',
                    ''
                )
            ),
            ''
        ) as organisation_key_raw

    from clients

),

validated as (

    select

        split.*,
        case
            when split.is_organisation_client then split.organisation_key_raw
        end as organisation_key,
        -- 0412 345 678 dropped its zero in a spreadsheet: put it back
        case
            when regexp_full_match(split.mobile_phone, '4[0-9]{8}')
                then '0' || split.mobile_phone
            else replace(split.mobile_phone, '+61 (0)', '+61 ')
        end as mobile_phone_repaired,
        {{ is_valid_email('split.email_address') }} as is_email_valid,
        regexp_full_match(coalesce(split.medicare_card_number, ''), '[2-6][0-9]{9}')
            as is_medicare_number_valid,
        lower(split.status) as status_key,
        concat_ws(
            '; ',
            case
                when lower(split.status) = 'deleted'
                    then 'client deleted in CorePlus'
            end,
            case when split.first_name is null then 'first name is blank' end,
            case when split.last_name is null then 'last name is blank' end,
            case when split.created_at is null then 'dateCreated unparseable' end,
            {{ coreplus_owner_hold_reason('split.practitioner_id', 'practitioners') }}
        ) as reasons_text,
        practitioners.owner_systemuser_id

    from split
    left join practitioners
        on split.practitioner_id = practitioners.practitioner_id

),

final as (

    select

        validated.* exclude (validated.reasons_text),
        nullif(validated.reasons_text, '') as quarantine_reasons,
        validated.reasons_text != '' as is_quarantined,
        -- contact state: 0 Active / 1 Inactive (status 1 Active, 2 Inactive)
        case
            when validated.status_key in ('closed', 'deceased') then 1 else 0
        end as statecode,
        case
            when validated.status_key in ('closed', 'deceased') then 2 else 1
        end as statuscode

    from validated

)

select * from final
