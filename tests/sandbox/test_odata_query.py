"""$filter, $orderby, $select, $expand, Prefer and $skiptoken as Dataverse reads them."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

import pytest

from sandbox.dataverse.odata_query import (
    ExpandItem,
    ODataQueryError,
    make_skiptoken,
    parse_expand,
    parse_filter,
    parse_orderby,
    parse_prefer,
    parse_select,
    read_skiptoken,
    sort_records,
)

ALICE = "00000000-0000-0000-0000-0000000000a1"
BOB = "00000000-0000-0000-0000-0000000000b2"
CONTACTS: list[dict[str, object]] = [
    {"contactid": "c1", "lastname": "O'Bryan", "fullname": "Ann O'Bryan", "age": 30,
     "revenue": Decimal("100.50"), "donotemail": False, "_parentcustomerid_value": ALICE,
     "createdon": "2024-03-01T10:00:00Z"},
    {"contactid": "c2", "lastname": "Smith", "fullname": "Bob Smith", "age": 45,
     "revenue": 2500.0, "donotemail": True, "_parentcustomerid_value": BOB,
     "createdon": "2024-01-15T08:30:00Z"},
    {"contactid": "c3", "lastname": "Zoë", "fullname": "Zoe Zoë (sample)", "age": None,
     "revenue": None, "donotemail": False, "_parentcustomerid_value": None,
     "createdon": "2023-12-31T23:59:59Z"},
    {"contactid": "c4", "lastname": None, "fullname": "100% cotton_shop", "age": 18,
     "revenue": 7, "donotemail": None, "_parentcustomerid_value": ALICE.upper(),
     "createdon": "2024-01-15T08:30:00+02:00"},
]  # fmt: skip


def matching(text: str, aliases: dict[str, str] | None = None, **kwargs: object) -> list[str]:
    predicate = parse_filter(text, aliases or {}, **kwargs)  # type: ignore[arg-type]
    return [str(record["contactid"]) for record in CONTACTS if predicate(record)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age eq 30", ["c1"]),
        ("age ne 30", ["c2", "c4"]),  # null is neither equal nor unequal (SQL)
        ("age gt 18", ["c1", "c2"]),
        ("age ge 18", ["c1", "c2", "c4"]),
        ("age lt 45", ["c1", "c4"]),
        ("age le 45 and age gt 18", ["c1", "c2"]),
        ("age eq 30 or lastname eq 'smith'", ["c1", "c2"]),
        ("not (age eq 30)", ["c2", "c4"]),
        ("not age eq 30 and donotemail eq false", []),
        ("(age eq 30 or age eq 45) and donotemail eq true", ["c2"]),
        ("age eq null", ["c3"]),
        ("lastname ne null", ["c1", "c2", "c3"]),
        ("null eq age", ["c3"]),
        ("18 lt age", ["c1", "c2"]),
        ("revenue gt 100.5", ["c2"]),
        ("revenue eq 100.50", ["c1"]),
        ("revenue le 7", ["c4"]),
        ("donotemail eq true", ["c2"]),
        ("donotemail eq false", ["c1", "c3"]),
    ],
)
def test_comparisons_and_logic(text: str, expected: list[str]) -> None:
    assert matching(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lastname eq 'SMITH'", ["c2"]),  # case-insensitive
        ("lastname eq 'smith   '", ["c2"]),  # trailing spaces ignored, as SQL Server does
        ("lastname eq 'zoe'", ["c3"]),  # accent-insensitive collation
        ("lastname eq 'O''Bryan'", ["c1"]),
        ("contains(fullname,'(SAMPLE)')", ["c3"]),
        ("startswith(fullname,'bob')", ["c2"]),
        ("endswith(fullname,'SMITH')", ["c2"]),
        ("not contains(fullname,'b')", ["c3", "c4"]),
        ("not contains(lastname,'x')", ["c1", "c2", "c3"]),  # null lastname: unknown
        ("contains(fullname,'100[%] cotton')", ["c4"]),  # SQL LIKE escape with []
        ("startswith(fullname,'A_n')", ["c1"]),  # _ matches one character
        ("contains(fullname,'o%s')", ["c2", "c3", "c4"]),
        ("startswith(fullname,'[a-b]')", ["c1", "c2"]),
        ("lastname gt 'p'", ["c2", "c3"]),
    ],
)
def test_string_comparisons_follow_the_dataverse_collation(text: str, expected: list[str]) -> None:
    assert matching(text) == expected


def test_guids_lookups_and_datetimes() -> None:
    assert matching(f"_parentcustomerid_value eq {ALICE.upper()}") == ["c1", "c4"]
    assert matching(f"_parentcustomerid_value eq '{{{ALICE}}}'") == ["c1", "c4"]
    assert matching(f"_parentcustomerid_value ne {ALICE}") == ["c2"]
    assert matching("createdon ge 2024-01-01") == ["c1", "c2", "c4"]
    # 08:30+02:00 is 06:30Z: compared by instant, not by text
    assert matching("createdon lt 2024-01-15T08:00:00Z") == ["c3", "c4"]
    assert matching("createdon eq 2024-01-15T06:30:00Z") == ["c4"]


def test_parameter_aliases_including_the_sdkmessagefilters_query() -> None:
    records = [
        {"sdkmessageid/name": "CreateMultiple", "primaryobjecttypecode": "account", "id": 1},
        {"sdkmessageid/name": "UpdateMultiple", "primaryobjecttypecode": "account", "id": 2},
        {"sdkmessageid/name": "CreateMultiple", "primaryobjecttypecode": "annotation", "id": 3},
    ]
    predicate = parse_filter(
        "sdkmessageid/name eq @message and primaryobjecttypecode eq @table",
        {"@message": "'CreateMultiple'", "@table": "'account'"},
        known_properties={"sdkmessageid", "primaryobjecttypecode"},
        entity="sdkmessagefilter",
    )

    assert [r["id"] for r in records if predicate(r)] == [1]
    assert matching("age eq @a", {"@a": "45"}) == ["c2"]
    assert matching("age eq @missing") == ["c3"]  # OData: an alias without a value is null


def test_in_with_aliases_and_double_quoted_apostrophes() -> None:
    aliases = {"@p1": "'lastname'", "@p2": '["OBrian","OBryan","O\'Bryan","smith"]'}

    found = matching("Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)", aliases)

    assert found == ["c1", "c2"]


def test_in_and_friends_inline() -> None:
    assert matching(
        'Microsoft.Dynamics.CRM.In(PropertyName=\'lastname\',PropertyValues=["a","O\'Bryan"])'
    ) == ["c1"]
    assert matching(
        "Microsoft.Dynamics.CRM.NotIn(PropertyName='age',PropertyValues=['30','45'])"
    ) == ["c4"]
    assert matching(
        f"Microsoft.Dynamics.CRM.In(PropertyName='_parentcustomerid_value',"
        f"PropertyValues=['{ALICE.upper()}'])"
    ) == ["c1", "c4"]
    assert matching(
        'Microsoft.Dynamics.CRM.Between(PropertyName=\'age\',PropertyValues=["18","30"])'
    ) == ["c1", "c4"]
    assert matching(
        'Microsoft.Dynamics.CRM.NotBetween(PropertyName=\'age\',PropertyValues=["18","30"])'
    ) == ["c2"]
    assert matching(
        "Microsoft.Dynamics.CRM.Between(PropertyName='createdon',"
        'PropertyValues=["2024-01-01","2024-02-01"])'
    ) == ["c2", "c4"]
    assert matching(
        "Microsoft.Dynamics.CRM.In(PropertyName='lastname',PropertyValues=[\"\", 'Smith'])"
    ) == ["c2"]
    assert matching("Microsoft.Dynamics.CRM.Null(PropertyName='age')") == ["c3"]
    assert matching("Microsoft.Dynamics.CRM.NotNull(PropertyName='revenue')") == ["c1", "c2", "c4"]


def test_errors_carry_dataverse_messages() -> None:
    with pytest.raises(ODataQueryError) as unterminated:
        parse_filter("lastname eq 'O'Bryan'", {})
    with pytest.raises(ODataQueryError) as apostrophe:
        parse_filter(
            "Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)",
            {"@p1": "'lastname'", "@p2": "['OBrian','O'Brian']"},
        )
    with pytest.raises(ODataQueryError) as unknown:
        parse_filter("bogus eq 1", {}, known_properties={"name"}, entity="account")

    assert unterminated.value.message == (
        "There is an unterminated literal at position 21 in 'lastname eq 'O'Bryan''."
    )
    assert apostrophe.value.message == (
        "Invalid JSON. A comma character ',' was expected in scope 'Array'. Every two elements "
        "in an array and properties of an object must be separated by commas."
    )
    assert unknown.value.message == (
        "Could not find a property named 'bogus' on type 'Microsoft.Dynamics.CRM.account'."
    )
    assert unknown.value.code == "0x80060888"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name eq", "Syntax error at position 7"),
        ("name eq 'a' and", "Syntax error"),
        ("(name eq 'a'", "Syntax error"),
        ("name eq 'a')", "Syntax error at position 11"),
        ("name like 'a'", "Syntax error at position 5"),
        ("name eq ^", "character '^' is not valid at position 8"),
        ("tolower(name) eq 'a'", "An unknown function with name 'tolower'"),
        ("Microsoft.Dynamics.CRM.Foo(PropertyName='name')", "unknown function"),
        ("Microsoft.Dynamics.CRM.Between(PropertyName='age',PropertyValues=['1'])", "two values"),
        ("name eq age", "Comparing two properties"),
    ],
)
def test_malformed_filters_are_rejected(text: str, fragment: str) -> None:
    with pytest.raises(ODataQueryError) as raised:
        parse_filter(text, {})

    assert fragment in raised.value.message


def test_known_properties_check_functions_and_paths() -> None:
    known = {"name", "primarycontactid"}
    parse_filter("primarycontactid/fullname eq 'x' and name eq 'y'", {}, known_properties=known)

    with pytest.raises(ODataQueryError, match="property named 'city'"):
        parse_filter("contains(city,'x')", {}, known_properties=known, entity="account")
    with pytest.raises(ODataQueryError, match="property named 'city'"):
        parse_filter(
            "Microsoft.Dynamics.CRM.In(PropertyName='city',PropertyValues=['a'])",
            {},
            known_properties=known,
        )


def test_filter_is_fast_enough_for_a_million_rows() -> None:
    import time

    predicate = parse_filter("age gt 20 and contains(fullname,'smith')", {})
    rows = CONTACTS * 25_000
    started = time.perf_counter()
    hits = sum(1 for row in rows if predicate(row))
    elapsed = time.perf_counter() - started

    assert hits == 25_000
    assert elapsed < 2.0, f"100k rows took {elapsed:.2f}s"


# --- $orderby, $select, $expand, Prefer ------------------------------------------------------


def test_parse_orderby() -> None:
    assert parse_orderby("name asc, createdon desc,age") == [
        ("name", False),
        ("createdon", True),
        ("age", False),
    ]
    with pytest.raises(ODataQueryError):
        parse_orderby("name sideways")
    with pytest.raises(ODataQueryError):
        parse_orderby("name,")


def test_sort_records_puts_nulls_first_ascending_and_last_descending() -> None:
    ascending = sort_records(CONTACTS, parse_orderby("age"))
    descending = sort_records(CONTACTS, parse_orderby("age desc"))

    assert [r["contactid"] for r in ascending] == ["c3", "c4", "c1", "c2"]
    assert [r["contactid"] for r in descending] == ["c2", "c1", "c4", "c3"]


def test_sort_records_is_case_insensitive_and_multi_key() -> None:
    records = [
        {"id": 1, "name": "beta", "n": 2},
        {"id": 2, "name": "Alpha", "n": 1},
        {"id": 3, "name": "alpha", "n": 3},
        {"id": 4, "name": "ALPHA", "n": 2},
    ]

    ordered = sort_records(records, [("name", False), ("n", True)])

    assert [r["id"] for r in ordered] == [3, 4, 2, 1]
    assert [r["id"] for r in records] == [1, 2, 3, 4], "input is not mutated"


def test_sort_records_orders_guids_as_sql_server() -> None:
    # SQL Server compares uniqueidentifier by its last 6 bytes first.
    low_tail = {"id": "ffffffff-ffff-ffff-ffff-000000000001"}
    high_tail = {"id": "00000000-0000-0000-0000-000000000002"}

    assert sort_records([high_tail, low_tail], [("id", False)]) == [low_tail, high_tail]


def test_parse_select_and_expand() -> None:
    assert parse_select("name, accountid,_primarycontactid_value") == [
        "name",
        "accountid",
        "_primarycontactid_value",
    ]
    assert parse_select("") == []
    with pytest.raises(ODataQueryError):
        parse_select("name,,x")

    assert parse_expand("primarycontactid($select=fullname),ownerid") == [
        ExpandItem("primarycontactid", ["fullname"]),
        ExpandItem("ownerid", None),
    ]
    nested = parse_expand(
        "primarycontactid($select=fullname,_createdby_value;$expand=createdby($select=fullname))"
    )
    assert nested == [
        ExpandItem(
            "primarycontactid",
            ["fullname", "_createdby_value"],
            {"$expand": "createdby($select=fullname)"},
        )
    ]
    with pytest.raises(ODataQueryError):
        parse_expand("primarycontactid($select=fullname")


def test_parse_prefer() -> None:
    header = (
        'odata.maxpagesize=2, return=representation, odata.include-annotations="*", '
        "odata.continue-on-error"
    )

    assert parse_prefer(header) == {
        "odata.maxpagesize": "2",
        "return": "representation",
        "odata.include-annotations": "*",
        "odata.continue-on-error": "",
    }
    assert parse_prefer(
        'odata.include-annotations="Microsoft.Dynamics.CRM.totalrecordcount,'
        'Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"'
    ) == {
        "odata.include-annotations": "Microsoft.Dynamics.CRM.totalrecordcount,"
        "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"
    }


# --- paging cookie ---------------------------------------------------------------------------

# The nextLink $skiptoken from Microsoft's page-results example.
DOCUMENTED_SKIPTOKEN = (
    "%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e"
    "%253ccontactid%2520last%253d%2522%257bD5026A4D-D01C-ED11-B83E-000D3A572421%257d%2522%2520"
    "first%253d%2522%257b49B0BE2E-D01C-ED11-B83E-000D3A572421%257d%2522%2520%252f%253e%253c%252f"
    "cookie%253e%22%20istracking=%22False%22%20/%3E"
)


def test_make_skiptoken_reproduces_the_documented_next_link() -> None:
    token = make_skiptoken(
        2,
        "d5026a4d-d01c-ed11-b83e-000d3a572421",
        key_name="contactid",
        first_id="49b0be2e-d01c-ed11-b83e-000d3a572421",
    )

    assert token.startswith('<cookie pagenumber="2" pagingcookie="%3ccookie%20page%3d%221%22')
    assert token.endswith('" istracking="False" />')
    assert quote(token, safe="=/") == DOCUMENTED_SKIPTOKEN


def test_read_skiptoken_round_trips_and_reads_the_documented_token() -> None:
    assert read_skiptoken(make_skiptoken(7, BOB)) == (7, BOB)
    assert read_skiptoken(DOCUMENTED_SKIPTOKEN) == (2, "d5026a4d-d01c-ed11-b83e-000d3a572421")


@pytest.mark.parametrize(
    "garbage", ["", "abc", '<cookie pagenumber="x" />', '<cookie pagenumber="2" pagingcookie="" />']
)
def test_read_skiptoken_rejects_garbage(garbage: str) -> None:
    with pytest.raises(ODataQueryError):
        read_skiptoken(garbage)
