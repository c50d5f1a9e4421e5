{#-
    Every OpenCRM source row accounted for, per source object:
    source_rows = mart_rows + merged_rows + quarantined_rows
    (asserted by a test on this model).

    users: mart_rows are users whose records go to their own enabled
    Dataverse user; merged_rows are users whose records go to the fallback
    owner instead, quarantined_rows users whose records are held back
    (unresolved_owner_policy=hold; see owner_discrepancies). Users are not
    loaded.
-#}

with

companies as (

    select * from {{ ref('int_opencrm__companies_resolved') }}

),

contacts as (

    select * from {{ ref('int_opencrm__contacts_resolved') }}

),

opportunities as (

    select * from {{ ref('int_opencrm__opportunities_mapped') }}

),

activities as (

    select * from {{ ref('int_opencrm__activities_resolved') }}

),

notes as (

    select * from {{ ref('int_opencrm__notes_resolved') }}

),

users as (

    select * from {{ ref('stg_opencrm__users') }}

),

owners as (

    select * from {{ ref('int_opencrm__owners_resolved') }}

),

companies_counted as (

    select
        count(*) as source_rows,
        count_if(is_merged) as merged_rows,
        count_if(is_quarantined) as quarantined_rows
    from companies

),

contacts_counted as (

    select
        count(*) as source_rows,
        count_if(is_merged) as merged_rows,
        count_if(is_quarantined) as quarantined_rows
    from contacts

),

opportunities_counted as (

    select
        count(*) as source_rows,
        0 as merged_rows,
        count_if(is_quarantined) as quarantined_rows
    from opportunities

),

activities_counted as (

    select
        count(*) as source_rows,
        0 as merged_rows,
        count_if(is_quarantined) as quarantined_rows
    from activities

),

notes_counted as (

    select
        count(*) as source_rows,
        0 as merged_rows,
        count_if(is_quarantined) as quarantined_rows
    from notes

),

users_counted as (

    select
        count(*) as source_rows,
        count_if(not owners.is_fallback) as mart_rows,
        count_if(owners.is_fallback and not owners.is_held_back) as merged_rows,
        count_if(owners.is_held_back) as quarantined_rows
    from users
    left join owners
        on coalesce(lower(users.user_name), '') = owners.user_key

),

mart_rows as (

    select
        'account' as dataverse_table,
        count(*) as mart_rows
    from {{ ref('dv_account') }}
    union all
    select
        'contact' as dataverse_table,
        count(*) as mart_rows
    from {{ ref('dv_contact') }}
    union all
    select
        'opportunity' as dataverse_table,
        count(*) as mart_rows
    from {{ ref('dv_opportunity') }}
    union all
    select
        'phonecall' as dataverse_table,
        count(*) as mart_rows
    from {{ ref('dv_phonecall') }}
    union all
    select
        'appointment' as dataverse_table,
        count(*) as mart_rows
    from {{ ref('dv_appointment') }}
    union all
    select
        'task' as dataverse_table,
        count(*) as mart_rows
    from {{ ref('dv_task') }}
    union all
    select
        'annotation' as dataverse_table,
        count(*) as mart_rows
    from {{ ref('dv_annotation') }}

),

mart_rows_by_source as (

    select
        case
            when dataverse_table = 'account' then 'companies'
            when dataverse_table = 'contact' then 'contacts'
            when dataverse_table = 'opportunity' then 'opportunities'
            when dataverse_table = 'annotation' then 'notes'
            else 'activities'
        end as source_object,
        string_agg(dataverse_table, ', ' order by dataverse_table)
            as dataverse_table,
        sum(mart_rows) as mart_rows
    from mart_rows
    group by 1

),

source_counts as (

    select
        'companies' as source_object,
        *
    from companies_counted
    union all
    select
        'contacts' as source_object,
        *
    from contacts_counted
    union all
    select
        'opportunities' as source_object,
        *
    from opportunities_counted
    union all
    select
        'activities' as source_object,
        *
    from activities_counted
    union all
    select
        'notes' as source_object,
        *
    from notes_counted

),

reconciliation as (

    select
        source_counts.source_object,
        mart_rows_by_source.dataverse_table,
        cast(source_counts.source_rows as bigint) as source_rows,
        cast(mart_rows_by_source.mart_rows as bigint) as mart_rows,
        cast(source_counts.merged_rows as bigint) as merged_rows,
        cast(source_counts.quarantined_rows as bigint) as quarantined_rows
    from source_counts
    left join mart_rows_by_source
        on source_counts.source_object = mart_rows_by_source.source_object

    union all

    select
        'users' as source_object,
        'systemuser (matched, not loaded)' as dataverse_table,
        cast(source_rows as bigint) as source_rows,
        cast(mart_rows as bigint) as mart_rows,
        cast(merged_rows as bigint) as merged_rows,
        cast(quarantined_rows as bigint) as quarantined_rows
    from users_counted

)

select * from reconciliation
