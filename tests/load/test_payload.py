import datetime as dt
import decimal
import uuid

from load.manifest import load_manifest
from load.payload import PayloadBuilder, json_value, payload_hash
from tests.load.warehouse import MANIFEST


def specs():
    return {spec.table: spec for spec in load_manifest(MANIFEST)}


CONTACT_ROW = {
    "contactid": "AAAAAAAA-0000-0000-0000-000000000001",
    "firstname": "Ann",
    "lastname": "O'Brien",
    "birthdate": dt.date(1980, 2, 29),
    "parentcustomerid_account": "bbbbbbbb-0000-0000-0000-000000000002",
    "ownerid": None,
    "mig_sourcekey": "opencrm:contact:7",
    "statecode": 1,
    "statuscode": 2,
}


def test_contact_row_becomes_a_web_api_body():
    builder = PayloadBuilder(specs()["contact"], list(CONTACT_ROW))

    payload = builder.build(CONTACT_ROW)

    assert payload.record_id == "aaaaaaaa-0000-0000-0000-000000000001"
    assert payload.source_key == "opencrm:contact:7"
    assert payload.body == {
        "firstname": "Ann",
        "lastname": "O'Brien",
        "birthdate": "1980-02-29",
        "mig_sourcekey": "opencrm:contact:7",
        "parentcustomerid_account@odata.bind": "/accounts(bbbbbbbb-0000-0000-0000-000000000002)",
    }
    assert "ownerid@odata.bind" not in payload.body  # null lookups are omitted
    assert payload.state == {"statecode": 1, "statuscode": 2}


def test_activity_parties_become_the_party_collection():
    row = {
        "activityid": uuid.UUID("cccccccc-0000-0000-0000-000000000003"),
        "subject": "Call",
        "regardingobjectid_account_phonecall": None,
        "to_contact": "dddddddd-0000-0000-0000-000000000004",
        "from_systemuser": "eeeeeeee-0000-0000-0000-000000000005",
        "mig_sourcekey": "opencrm:activity:3",
    }

    payload = PayloadBuilder(specs()["phonecall"], list(row)).build(row)

    assert payload.record_id == "cccccccc-0000-0000-0000-000000000003"
    assert payload.body["phonecall_activity_parties"] == [
        {
            "partyid_contact@odata.bind": "/contacts(dddddddd-0000-0000-0000-000000000004)",
            "participationtypemask": 2,
        },
        {
            "partyid_systemuser@odata.bind": "/systemusers(eeeeeeee-0000-0000-0000-000000000005)",
            "participationtypemask": 1,
        },
    ]
    assert "to_contact" not in payload.body and "from_systemuser" not in payload.body
    assert payload.state == {} and payload.state_hash is None


def test_deferred_lookups_are_left_out():
    row = {"accountid": "a", "name": "x", "parentaccountid": "b", "ownerid": "c"}

    payload = PayloadBuilder(specs()["account"], list(row), skip_lookups={"parentaccountid"}).build(
        row
    )

    assert payload.body == {"name": "x", "ownerid@odata.bind": "/systemusers(c)"}


def test_values_are_formatted_as_dataverse_expects():
    london = dt.timezone(dt.timedelta(hours=1))

    assert json_value(dt.datetime(2024, 6, 1, 10, 30, tzinfo=london)) == "2024-06-01T09:30:00Z"
    assert json_value(dt.datetime(2024, 6, 1, 10, 30)) == "2024-06-01T10:30:00Z"
    assert json_value(dt.datetime(2024, 6, 1, 10, 30, 0, 250000)) == "2024-06-01T10:30:00.250Z"
    assert json_value(dt.date(2024, 6, 1)) == "2024-06-01"
    assert json_value(decimal.Decimal("1250.50")) == 1250.5
    assert json_value(decimal.Decimal("1250.00")) == 1250 and isinstance(
        json_value(decimal.Decimal("1250.00")), int
    )
    assert json_value(float("nan")) is None
    assert json_value(True) is True


def test_hash_is_stable_and_sensitive():
    builder = PayloadBuilder(specs()["contact"], list(CONTACT_ROW))
    reordered = dict(reversed(list(CONTACT_ROW.items())))

    first, again = (
        builder.build(CONTACT_ROW),
        PayloadBuilder(specs()["contact"], list(reordered)).build(reordered),
    )
    changed = builder.build({**CONTACT_ROW, "lastname": "OBrien"})
    state_changed = builder.build({**CONTACT_ROW, "statuscode": 1})

    assert first.hash == again.hash
    assert first.hash == payload_hash(dict(reversed(list(first.body.items()))))
    assert changed.hash != first.hash
    assert state_changed.hash == first.hash and state_changed.state_hash != first.state_hash
