with

source as (

    select * from {{ source('raw_opencrm', 'contacts') }}

),

renamed as (

    select

        ---------- ids
        {{ parse_id('record_id') }} as contact_id,
        {{ parse_id('company_id') }} as company_id,

        ---------- strings
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        lower(concat_ws(
            ' ', {{ clean_text('first_name') }}, {{ clean_text('last_name') }}
        )) as full_name_normalised,
        {{ clean_text('company_name') }} as company_name,
        {{ clean_text('job_title') }} as job_title,
        {{ clean_text('department') }} as department,
        lower({{ clean_text('email') }}) as email_address,
        lower({{ clean_text('other_email') }}) as other_email_address,
        {{ clean_text('phone') }} as phone,
        {{ clean_text('mobile') }} as mobile_phone,
        {{ clean_text('home_phone') }} as home_phone,
        {{ clean_text('mailing_street') }} as mailing_street,
        {{ clean_text('mailing_city') }} as mailing_city,
        {{ clean_text('mailing_county') }} as mailing_county,
        {{ clean_text('mailing_postcode') }} as mailing_postcode,
        {{ clean_text('mailing_country') }} as mailing_country,
        {{ clean_text('lead_source') }} as lead_source,
        {{ clean_text('description') }} as description,
        {{ clean_text('assigned_to') }} as assigned_to_user_name,
        {{ clean_text('cf_701') }} as preferred_contact_method,

        ---------- booleans
        {{ is_valid_email('email_address') }} as is_email_valid,
        {{ is_valid_email('other_email_address') }} as is_other_email_valid,
        {{ parse_boolean(clean_text('do_not_email')) }} as is_email_opted_out,
        {{ parse_boolean(clean_text('do_not_phone')) }} as is_phone_opted_out,
        {{ parse_boolean(clean_text('cf_702')) }} as is_newsletter_subscriber,

        ---------- dates
        {{ parse_uk_date(clean_text('birthday')) }} as birth_date,

        ---------- timestamps (UTC; the export's times are Europe/London)
        {{ parse_uk_datetime(clean_text('created_time')) }} as created_at,
        {{ parse_uk_datetime(clean_text('modified_time')) }} as modified_at,

        ---------- source values of parsed columns, kept for the issue log
        {{ clean_text('record_id') }} as contact_id_raw,
        {{ clean_text('company_id') }} as company_id_raw,
        {{ clean_text('email') }} as email_address_raw,
        {{ clean_text('other_email') }} as other_email_address_raw,
        {{ clean_text('cf_702') }} as is_newsletter_subscriber_raw,
        {{ clean_text('birthday') }} as birth_date_raw,
        {{ clean_text('created_time') }} as created_at_raw,
        {{ clean_text('modified_time') }} as modified_at_raw,

        ---------- parse failures (a value was given but did not parse)
        {{ is_unparseable('contact_id_raw', 'contact_id') }}
            as is_contact_id_unparseable,
        {{ is_unparseable(clean_text('company_id'), parse_id('company_id')) }}
            as is_company_id_unparseable,
        {{ is_unparseable(
            'is_newsletter_subscriber_raw', 'is_newsletter_subscriber'
        ) }} as is_newsletter_subscriber_unparseable,
        {{ is_unparseable('birth_date_raw', 'birth_date') }}
            as is_birth_date_unparseable,
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
