with

source as (

    select * from {{ source('raw_opencrm', 'opportunities') }}

),

renamed as (

    select

        ---------- ids
        {{ parse_id('record_id') }} as opportunity_id,
        {{ parse_id('company_id') }} as company_id,
        {{ parse_id('contact_id') }} as contact_id,

        ---------- strings
        {{ clean_text('opportunity_name') }} as opportunity_name,
        {{ clean_text('type') }} as opportunity_type,
        {{ clean_text('sales_stage') }} as sales_stage,
        lower({{ clean_text('sales_stage') }}) as sales_stage_normalised,
        {{ clean_text('pipeline') }} as pipeline,
        {{ clean_text('lead_source') }} as lead_source,
        {{ clean_text('next_step') }} as next_step,
        {{ clean_text('description') }} as description,
        {{ clean_text('assigned_to') }} as assigned_to_user_name,
        {{ clean_text('cf_801') }} as competitor,

        ---------- numerics
        {{ parse_money(clean_text('amount')) }} as amount,
        try_cast(replace({{ clean_text('probability') }}, '%', '') as decimal(9, 4))
            as probability_percent,

        ---------- dates
        {{ parse_uk_date(clean_text('expected_close_date')) }}
            as expected_close_date,

        ---------- timestamps (UTC; the export's times are Europe/London)
        {{ parse_uk_datetime(clean_text('created_time')) }} as created_at,
        {{ parse_uk_datetime(clean_text('modified_time')) }} as modified_at,

        ---------- source values of parsed columns, kept for the issue log
        {{ clean_text('record_id') }} as opportunity_id_raw,
        {{ clean_text('company_id') }} as company_id_raw,
        {{ clean_text('contact_id') }} as contact_id_raw,
        {{ clean_text('amount') }} as amount_raw,
        {{ clean_text('probability') }} as probability_percent_raw,
        {{ clean_text('expected_close_date') }} as expected_close_date_raw,
        {{ clean_text('created_time') }} as created_at_raw,
        {{ clean_text('modified_time') }} as modified_at_raw,

        ---------- parse failures (a value was given but did not parse)
        {{ is_unparseable('opportunity_id_raw', 'opportunity_id') }}
            as is_opportunity_id_unparseable,
        {{ is_unparseable(clean_text('company_id'), parse_id('company_id')) }}
            as is_company_id_unparseable,
        {{ is_unparseable(clean_text('contact_id'), parse_id('contact_id')) }}
            as is_contact_id_unparseable,
        {{ is_unparseable('amount_raw', parse_money(clean_text('amount'))) }}
            as is_amount_unparseable,
        {{ is_unparseable('probability_percent_raw', 'probability_percent') }}
            as is_probability_percent_unparseable,
        {{ is_unparseable(
            'expected_close_date_raw',
            parse_uk_date(clean_text('expected_close_date'))
        ) }}
            as is_expected_close_date_unparseable,
        {{ is_unparseable('created_at_raw', 'created_at') }}
            as is_created_at_unparseable,
        {{ is_unparseable('modified_at_raw', 'modified_at') }}
            as is_modified_at_unparseable,

        ---------- lineage (dlt's _dlt_load_id and _dlt_id are dropped)
        cast(_source_file as varchar) as source_file,
        try_cast(_source_row as bigint) as source_row,
        try_cast(_extracted_at as timestamp) as extracted_at

    from source

)

select * from renamed
