{#- No mart row is owned by a disabled Dataverse user, or by an id that is
    not a Dataverse user at all: records are never orphaned to an inactive
    owner. -#}

{%- set marts = [
    'dv_account', 'dv_contact', 'dv_opportunity', 'dv_phonecall',
    'dv_appointment', 'dv_task', 'dv_annotation',
] -%}

with

systemusers as (

    select * from {{ ref('stg_dataverse__systemusers') }}

),

owned_records as (

    {%- for mart in marts %}
    select
        '{{ mart }}' as mart,
        mig_sourcekey,
        ownerid
    from {{ ref(mart) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

badly_owned as (

    select
        owned_records.mart,
        owned_records.mig_sourcekey,
        owned_records.ownerid,
        systemusers.is_disabled
    from owned_records
    left join systemusers
        on owned_records.ownerid = systemusers.systemuser_id
    where systemusers.systemuser_id is null or systemusers.is_disabled

)

select * from badly_owned
