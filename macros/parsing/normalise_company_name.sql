{#-
    The key two spellings of one company share, used to resolve contacts by
    company name and to find duplicate companies.

    Rules, in order: lowercase; & becomes "and"; apostrophes are dropped
    (Smith's = Smiths); every other run of punctuation or whitespace becomes
    one space; the word "limited" becomes "ltd"; trailing legal suffixes
    ltd / plc / llp / co are stripped (repeatedly: "Smith & Co Ltd" and
    "Smith and Co." both give "smith and"). A name that is nothing but a
    suffix keeps it ("Co" stays "co").
-#}
{% macro normalise_company_name(column) -%}
    {%- set spaced -%}
        trim(regexp_replace(
            replace(replace(lower({{ column }}), '&', ' and '), '''', ''),
            '[^\pL\pN]+',
            ' ',
            'g'
        ))
    {%- endset -%}
    {%- set limited_as_ltd -%}
        regexp_replace({{ spaced }}, '\blimited\b', 'ltd', 'g')
    {%- endset -%}
    coalesce(
        nullif(
            regexp_replace({{ limited_as_ltd }}, '( (ltd|plc|llp|co))+$', ''),
            ''
        ),
        nullif({{ limited_as_ltd }}, '')
    )
{%- endmacro %}
