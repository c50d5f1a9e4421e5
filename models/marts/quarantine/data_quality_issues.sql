{#-
    Every safe repair made on the way to the marts, with the source value it
    replaced: nothing is changed silently. One row per (source row, column,
    issue). Rows that could not be repaired are in quarantine_opencrm instead;
    owners that fell back are in owner_discrepancies.

    Each rule is one entry below: the model, the condition that marks the
    issue, the column and the original value.
-#}

{%- set rules = [
    {'object': 'companies', 'model': 'int_opencrm__companies_resolved', 'id': 'company_id_raw',
     'column': 'Email', 'value': 'email_address_raw', 'issue': 'invalid email dropped',
     'condition': 'email_address is not null and not is_email_valid'},
    {'object': 'companies', 'model': 'int_opencrm__companies_resolved', 'id': 'company_id_raw',
     'column': 'Employees', 'value': 'employee_count_raw', 'issue': 'employees not a number from 0 to 1,000,000,000, dropped',
     'condition': 'is_employee_count_unparseable or employee_count not between 0 and 1000000000'},
    {'object': 'companies', 'model': 'int_opencrm__companies_resolved', 'id': 'company_id_raw',
     'column': 'Annual Revenue', 'value': 'annual_revenue_raw', 'issue': 'annual revenue not an amount of 0 or more, dropped',
     'condition': 'is_annual_revenue_unparseable or annual_revenue < 0'},
    {'object': 'companies', 'model': 'int_opencrm__companies_resolved', 'id': 'company_id_raw',
     'column': 'cf_602', 'value': 'customer_since_date_raw', 'issue': 'customer since not a date, dropped',
     'condition': 'is_customer_since_date_unparseable'},
    {'object': 'companies', 'model': 'int_opencrm__companies_resolved', 'id': 'company_id_raw',
     'column': 'Member Of', 'value': 'parent_company_id_raw', 'issue': 'parent company not found, quarantined or merged into this one; dropped',
     'condition': 'is_survivor and parent_company_id_raw is not null and parent_company_id is null'},
    {'object': 'contacts', 'model': 'int_opencrm__contacts_resolved', 'id': 'contact_id_raw',
     'column': 'Email', 'value': 'email_address_raw', 'issue': 'invalid email dropped',
     'condition': 'email_address is not null and not is_email_valid'},
    {'object': 'contacts', 'model': 'int_opencrm__contacts_resolved', 'id': 'contact_id_raw',
     'column': 'Other Email', 'value': 'other_email_address_raw', 'issue': 'invalid email dropped',
     'condition': 'other_email_address is not null and not is_other_email_valid'},
    {'object': 'contacts', 'model': 'int_opencrm__contacts_resolved', 'id': 'contact_id_raw',
     'column': 'Email', 'value': 'email_address_raw', 'issue': 'email shared with a different person; both kept',
     'condition': 'has_shared_email and is_survivor'},
    {'object': 'contacts', 'model': 'int_opencrm__contacts_resolved', 'id': 'contact_id_raw',
     'column': 'Company ID', 'value': "concat_ws(' / ', company_id_raw, company_name)", 'issue': 'company not resolved by id or name; contact kept without an account',
     'condition': 'is_survivor and company_id is null and (company_id_raw is not null or company_name is not null)'},
    {'object': 'contacts', 'model': 'int_opencrm__contacts_resolved', 'id': 'contact_id_raw',
     'column': 'Birthday', 'value': 'birth_date_raw', 'issue': 'birthday not a date, dropped',
     'condition': 'is_birth_date_unparseable'},
    {'object': 'contacts', 'model': 'int_opencrm__contacts_resolved', 'id': 'contact_id_raw',
     'column': 'cf_701', 'value': 'preferred_contact_method', 'issue': 'preferred contact method not Email, Phone or Post, dropped',
     'condition': "preferred_contact_method is not null and lower(preferred_contact_method) not in ('email', 'phone', 'post')"},
    {'object': 'contacts', 'model': 'int_opencrm__contacts_resolved', 'id': 'contact_id_raw',
     'column': 'cf_702', 'value': 'is_newsletter_subscriber_raw', 'issue': 'newsletter not 0 or 1, dropped',
     'condition': 'is_newsletter_subscriber_unparseable'},
    {'object': 'opportunities', 'model': 'int_opencrm__opportunities_mapped', 'id': 'opportunity_id_raw',
     'column': 'Amount', 'value': 'amount_raw', 'issue': 'amount not a number, dropped',
     'condition': 'is_amount_unparseable'},
    {'object': 'opportunities', 'model': 'int_opencrm__opportunities_mapped', 'id': 'opportunity_id_raw',
     'column': 'Probability', 'value': 'probability_percent_raw', 'issue': 'probability not a number from 0 to 100; stage default used',
     'condition': 'is_probability_percent_unparseable or is_probability_out_of_range'},
    {'object': 'opportunities', 'model': 'int_opencrm__opportunities_mapped', 'id': 'opportunity_id_raw',
     'column': 'Expected Close Date', 'value': 'expected_close_date_raw', 'issue': 'expected close date not a date, dropped',
     'condition': 'is_expected_close_date_unparseable'},
    {'object': 'opportunities', 'model': 'int_opencrm__opportunities_mapped', 'id': 'opportunity_id_raw',
     'column': 'Company ID', 'value': 'company_id_raw', 'issue': 'company not found or quarantined; deal kept without an account',
     'condition': 'company_id_raw is not null and company_id is null'},
    {'object': 'opportunities', 'model': 'int_opencrm__opportunities_mapped', 'id': 'opportunity_id_raw',
     'column': 'Contact ID', 'value': 'contact_id_raw', 'issue': 'contact not found or quarantined; deal kept without a contact',
     'condition': 'contact_id_raw is not null and contact_id is null'},
    {'object': 'activities', 'model': 'int_opencrm__activities_resolved', 'id': 'activity_id_raw',
     'column': 'Contact ID', 'value': 'contact_id_raw', 'issue': 'contact not found or quarantined; dropped from the parties',
     'condition': 'contact_id_raw is not null and party_contact_id is null'},
    {'object': 'activities', 'model': 'int_opencrm__activities_resolved', 'id': 'activity_id_raw',
     'column': 'Status', 'value': 'activity_status', 'issue': 'status not in the activity status map; default state kept',
     'condition': 'statecode is null'},
    {'object': 'activities', 'model': 'int_opencrm__activities_resolved', 'id': 'activity_id_raw',
     'column': 'Start Date', 'value': 'starts_at_raw', 'issue': 'start date not a date-time, dropped',
     'condition': "is_starts_at_unparseable and activity_type != 'meeting'"},
    {'object': 'activities', 'model': 'int_opencrm__activities_resolved', 'id': 'activity_id_raw',
     'column': 'Due Date', 'value': 'due_at_raw', 'issue': 'due date not a date-time, dropped',
     'condition': 'is_due_at_unparseable'},
    {'object': 'activities', 'model': 'int_opencrm__activities_resolved', 'id': 'activity_id_raw',
     'column': 'Duration (Hours)', 'value': 'duration_hours_raw', 'issue': 'duration not a number, dropped',
     'condition': 'is_duration_hours_unparseable'},
] -%}

{%- set objects = {
    'companies': ('int_opencrm__companies_resolved', 'company_id_raw'),
    'contacts': ('int_opencrm__contacts_resolved', 'contact_id_raw'),
    'opportunities': ('int_opencrm__opportunities_mapped', 'opportunity_id_raw'),
    'activities': ('int_opencrm__activities_resolved', 'activity_id_raw'),
    'notes': ('int_opencrm__notes_resolved', 'note_id_raw'),
} -%}

with

{% for object, (model, id_column) in objects.items() %}
{{ object }} as (

    select * from {{ ref(model) }}

),

{% endfor %}
timestamp_issues as (

    {%- for object, (model, id_column) in objects.items() %}
    {%- for column, label in [
        ('created_at', 'Created Time'), ('modified_at', 'Modified Time')
    ] %}
    select
        '{{ object }}' as source_object,
        {{ id_column }} as source_id,
        source_file,
        source_row,
        '{{ label }}' as source_column,
        '{{ label | lower }} not a date-time, dropped' as issue,
        {{ column }}_raw as original_value
    from {{ object }}
    where is_{{ column }}_unparseable and not is_quarantined
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

rule_issues as (

    {%- for rule in rules %}
    select
        '{{ rule.object }}' as source_object,
        {{ rule.id }} as source_id,
        source_file,
        source_row,
        '{{ rule.column }}' as source_column,
        '{{ rule.issue }}' as issue,
        cast({{ rule.value }} as varchar) as original_value
    from {{ rule.object }}
    where not is_quarantined and ({{ rule.condition }})
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

data_quality_issues as (

    select * from rule_issues
    union all
    select * from timestamp_issues

)

select * from data_quality_issues
