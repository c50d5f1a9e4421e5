"""Integer, Decimal, Money and Double columns refuse values outside their MinValue/MaxValue with the
data service error codes IntegerValueOutOfRange, DecimalValueOutOfRange and MoneySizeExceeded."""

from __future__ import annotations

import httpx
import pytest

INTEGER = (
    "0x8004432F",
    "A validation error occurred. An integer provided is outside of the allowed values for this "
    "attribute.",
)
DECIMAL = (
    "0x80044330",
    "A validation error occurred. A decimal value provided is outside of the allowed values for "
    "this attribute.",
)
MONEY = ("0x80040317", "Supplied value exceeded the MIN/MAX value of Money Type field.")


def _error(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    return error["code"], error["message"]


@pytest.mark.parametrize(
    ("entity_set", "column", "bad", "good", "expected"),
    [
        ("accounts", "numberofemployees", -1, 0, INTEGER),  # Integer 0..1,000,000,000
        ("accounts", "numberofemployees", 1_000_000_001, 1_000_000_000, INTEGER),
        ("opportunities", "closeprobability", 101, 100, INTEGER),  # Integer 0..100
        ("opportunities", "discountpercentage", 100.5, 99.5, DECIMAL),  # Decimal 0..100
        ("opportunities", "discountpercentage", "-0.01", "0", DECIMAL),
        ("accounts", "revenue", -0.01, 0, MONEY),  # Money 0..100,000,000,000,000
        ("accounts", "revenue", 100_000_000_000_001, 100_000_000_000_000, MONEY),
        ("accounts", "address1_latitude", 90.5, -90, DECIMAL),  # Double -90..90
    ],
)
def test_out_of_range_values_are_refused(
    api: httpx.Client,
    entity_set: str,
    column: str,
    bad: object,
    good: object,
    expected: tuple[str, str],
) -> None:
    name = {"accounts": "name", "opportunities": "name"}[entity_set]
    assert _error(api.post(entity_set, json={name: "x", column: bad})) == expected
    created = api.post(entity_set, json={name: "x", column: good})
    assert created.status_code == 204, created.text
    url = created.headers["OData-EntityId"].split("/v9.2/")[1]
    assert _error(api.patch(url, json={column: bad})) == expected


def test_type_limits_still_come_first(api: httpx.Client) -> None:
    beyond_int32 = api.post("accounts", json={"name": "x", "numberofemployees": 2**31})
    assert beyond_int32.json()["error"]["code"] == "0x80060888"


def test_bulk_and_upsert_check_ranges_too(api: httpx.Client) -> None:
    targets = [
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "ok", "numberofemployees": 5},
        {"@odata.type": "Microsoft.Dynamics.CRM.account", "name": "bad", "numberofemployees": -5},
    ]
    refused = api.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert _error(refused) == INTEGER
    assert api.get("accounts/$count").text == "0", "all-or-nothing"
    upsert = api.patch(
        "accounts(00000000-0000-0000-0000-00000000000a)", json={"name": "u", "revenue": -1}
    )
    assert _error(upsert) == MONEY


def test_custom_column_ranges_come_from_its_definition(api: httpx.Client) -> None:
    created = api.post(
        "EntityDefinitions(LogicalName='contact')/Attributes",
        json={
            "@odata.type": "Microsoft.Dynamics.CRM.IntegerAttributeMetadata",
            "SchemaName": "new_Score",
            "MinValue": 1,
            "MaxValue": 10,
        },
    )
    assert created.status_code == 204, created.text
    assert _error(api.post("contacts", json={"lastname": "x", "new_score": 11})) == INTEGER
    assert api.post("contacts", json={"lastname": "x", "new_score": 10}).status_code == 204
