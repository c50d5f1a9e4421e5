"""Queries: $filter, $orderby, $top, $count, /$count, paging with odata.maxpagesize and
@odata.nextLink, formatted values (page-results.md, count-rows.md, select-columns.md)."""

from __future__ import annotations

import httpx

from tests.sandbox.test_dataverse_records import _create


def _seed(api: httpx.Client) -> None:
    for name, revenue, category in [
        ("Fourth Coffee", 1000, 1),
        ("Litware", 20000, 2),
        ("Adventure Works", 500, None),
        ("Blue Yonder", 7000, 1),
        ("O'Brien Ltd", 300, 2),
    ]:
        body = {"name": name, "revenue": revenue}
        if category:
            body["accountcategorycode"] = category
        _create(api, "accounts", body)


def _names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["name"] for row in response.json()["value"]]


def test_filter_orderby_top(api: httpx.Client) -> None:
    _seed(api)
    assert _names(
        api.get("accounts?$select=name&$filter=revenue gt 900&$orderby=revenue desc")
    ) == ["Litware", "Blue Yonder", "Fourth Coffee"]
    assert _names(api.get("accounts?$select=name&$orderby=name&$top=2")) == [
        "Adventure Works",
        "Blue Yonder",
    ]
    assert _names(api.get("accounts?$select=name&$filter=name eq 'O''Brien Ltd'")) == [
        "O'Brien Ltd"
    ]
    assert set(
        _names(
            api.get(
                "accounts?$select=name"
                "&$filter=contains(name,'coffee') or accountcategorycode eq null"
            )
        )
    ) == {"Fourth Coffee", "Adventure Works"}


def test_count_true_and_count_segment(api: httpx.Client) -> None:
    _seed(api)
    body = api.get("accounts?$select=name&$count=true&$filter=revenue lt 5000").json()
    assert body["@odata.count"] == 3
    response = api.get("accounts/$count")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "5"


def test_paging_with_maxpagesize_and_next_link(api: httpx.Client) -> None:
    _seed(api)
    seen: list[str] = []
    response = api.get(
        "accounts?$select=name&$orderby=name", headers={"Prefer": "odata.maxpagesize=2"}
    )
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=2"
    pages = 0
    while True:
        body = response.json()
        seen += [row["name"] for row in body["value"]]
        pages += 1
        link = body.get("@odata.nextLink")
        if not link:
            break
        assert "$skiptoken=" in link and "pagingcookie" in link
        response = api.get(link, headers={"Prefer": "odata.maxpagesize=2"})
    assert pages == 3
    assert seen == sorted(seen, key=str.lower) and len(seen) == 5


def test_formatted_values(api: httpx.Client) -> None:
    _create(api, "accounts", {"name": "F", "revenue": 20000, "accountcategorycode": 1})
    response = api.get(
        "accounts?$select=revenue,accountcategorycode",
        headers={"Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'},
    )
    row = response.json()["value"][0]
    assert row["revenue@OData.Community.Display.V1.FormattedValue"] == "$20,000.00"
    assert (
        row["accountcategorycode@OData.Community.Display.V1.FormattedValue"] == "Preferred Customer"
    )
    assert "Preference-Applied" in response.headers


def test_filter_syntax_error_is_400(api: httpx.Client) -> None:
    response = api.get("accounts?$filter=name eq 'unterminated")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80060888"


def test_in_function_and_systemusers(api: httpx.Client) -> None:
    response = api.get(
        "systemusers",
        params={
            "$select": "fullname,internalemailaddress,isdisabled",
            "$filter": "Microsoft.Dynamics.CRM.In(PropertyName='internalemailaddress',"
            "PropertyValues=['sarah.whitaker@contoso.example','migration.admin@contoso.example'])",
        },
    )
    assert response.status_code == 200, response.text
    assert {row["fullname"] for row in response.json()["value"]} == {
        "Sarah Whitaker",
        "Migration Admin",
    }
