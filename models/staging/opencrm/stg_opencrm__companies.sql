with

source as (

    select * from {{ source('raw_opencrm', 'companies') }}

),

renamed as (

    select

        ---------- ids
        {{ parse_id('record_id') }} as company_id,
        {{ parse_id('member_of') }} as parent_company_id,

        ---------- strings
        {{ clean_text('company_name') }} as company_name,
        {{ normalise_company_name(clean_text('company_name')) }}
            as company_name_normalised,
        {{ clean_text('type') }} as company_type,
        {{ clean_text('industry') }} as industry,
        {{ clean_text('legal_format') }} as legal_format,
        {{ clean_text('company_number') }} as company_number,
        {{ clean_text('vat_number') }} as vat_number,
        lower({{ clean_text('email') }}) as email_address,
        {{ clean_text('phone') }} as phone,
        {{ clean_text('fax') }} as fax,
        {{ clean_text('website') }} as website,
        {{ clean_text('billing_street') }} as billing_street,
        {{ clean_text('billing_city') }} as billing_city,
        {{ clean_text('billing_county') }} as billing_county,
        {{ clean_text('billing_postcode') }} as billing_postcode,
        {{ clean_text('billing_country') }} as billing_country,
        {{ clean_text('description') }} as description,
        {{ clean_text('assigned_to') }} as assigned_to_user_name,
        {{ clean_text('cf_601') }} as sector_code,

        ---------- numerics
        try_cast(replace({{ clean_text('employees') }}, ',', '') as integer)
            as employee_count,
        {{ parse_money(clean_text('annual_revenue')) }} as annual_revenue,

        ---------- booleans
        {{ is_valid_email('email_address') }} as is_email_valid,
        {{ parse_boolean(clean_text('do_not_phone')) }} as is_phone_opted_out,
        {{ parse_boolean(clean_text('do_not_email')) }} as is_email_opted_out,

        ---------- dates
        {{ parse_uk_date(clean_text('cf_602')) }} as customer_since_date,

        ---------- timestamps (UTC; the export's times are Europe/London)
        {{ parse_uk_datetime(clean_text('created_time')) }} as created_at,
        {{ parse_uk_datetime(clean_text('modified_time')) }} as modified_at,

        ---------- source values of parsed columns, kept for the issue log
        {{ clean_text('record_id') }} as company_id_raw,
        {{ clean_text('member_of') }} as parent_company_id_raw,
        {{ clean_text('employees') }} as employee_count_raw,
        {{ clean_text('annual_revenue') }} as annual_revenue_raw,
        {{ clean_text('email') }} as email_address_raw,
        {{ clean_text('cf_602') }} as customer_since_date_raw,
        {{ clean_text('created_time') }} as created_at_raw,
        {{ clean_text('modified_time') }} as modified_at_raw,

        ---------- parse failures (a value was given but did not parse)
        {{ is_unparseable('company_id_raw', 'company_id') }}
            as is_company_id_unparseable,
        {{ is_unparseable('parent_company_id_raw', 'parent_company_id') }}
            as is_parent_company_id_unparseable,
        {{ is_unparseable('employee_count_raw', 'employee_count') }}
            as is_employee_count_unparseable,
        {{ is_unparseable(
            'annual_revenue_raw', parse_money(clean_text('annual_revenue'))
        ) }}
            as is_annual_revenue_unparseable,
        {{ is_unparseable('customer_since_date_raw', 'customer_since_date') }}
            as is_customer_since_date_unparseable,
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
