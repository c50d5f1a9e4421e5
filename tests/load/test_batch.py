# ruff: noqa: E501 - golden responses are copied verbatim from the docs
"""The $batch codec, checked against the standard library's MIME parser and the docs' shapes."""

import json
from email.parser import BytesParser
from email.policy import HTTP

import pytest

from load.batch import BatchFormatError, BatchRequest, decode_batch, encode_batch

API = "/api/data/v9.2/"


def parse(content_type: str, body: bytes):
    return BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )


def inner_request(part) -> tuple[str, dict, str]:
    payload = part.get_payload(decode=True).decode()
    head, _, body = payload.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], headers, body.strip()


def test_plain_batch_is_valid_multipart_with_one_http_request_per_part():
    requests = [
        BatchRequest("PATCH", "accounts(1)", {"name": "Zoë & Co"}),
        BatchRequest("PATCH", "contacts(2)", {"statecode": 1}, {"If-Match": "*"}),
    ]

    content_type, body = encode_batch(requests, api_path=API)
    message = parse(content_type, body)

    parts = message.get_payload()
    assert content_type.startswith("multipart/mixed; boundary=batch_")
    assert [p.get_content_type() for p in parts] == ["application/http", "application/http"]
    assert all(p["Content-Transfer-Encoding"] == "binary" for p in parts)
    line, headers, sent = inner_request(parts[0])
    assert line == "PATCH /api/data/v9.2/accounts(1) HTTP/1.1"
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(sent) == {"name": "Zoë & Co"}
    line, headers, sent = inner_request(parts[1])
    assert line == "PATCH /api/data/v9.2/contacts(2) HTTP/1.1" and headers["If-Match"] == "*"


def test_change_set_wraps_parts_with_content_ids():
    requests = [BatchRequest("PATCH", f"tasks({n})", {"subject": str(n)}) for n in range(3)]

    content_type, body = encode_batch(requests, api_path=API, changeset=True)
    (changeset,) = parse(content_type, body).get_payload()

    assert changeset.get_content_type() == "multipart/mixed"
    assert changeset.get_boundary().startswith("changeset_")
    assert [p["Content-ID"] for p in changeset.get_payload()] == ["1", "2", "3"]


CONTINUE_ON_ERROR = """--batchresponse_156da4b8-cd2e-4d4d-9d5e-a9c7f4e4aa12\r
Content-Type: application/http\r
Content-Transfer-Encoding: binary\r
\r
HTTP/1.1 400 Bad Request\r
REQ_ID: 5ecd1cb3-1730-4ffc-909c-d44c22270026\r
Content-Type: application/json; odata.metadata=minimal\r
OData-Version: 4.0\r
\r
{"error":{"code":"0x80044331","message":"A validation error occurred.  The length of the 'subject' attribute of the 'task' entity exceeded the maximum allowed length of '200'."}}\r
--batchresponse_156da4b8-cd2e-4d4d-9d5e-a9c7f4e4aa12\r
Content-Type: application/http\r
Content-Transfer-Encoding: binary\r
\r
HTTP/1.1 204 No Content\r
OData-Version: 4.0\r
Location: https://org.example/api/data/v9.2/tasks(aa3f0cb0-c592-ed11-aad1-000d3a993550)\r
OData-EntityId: https://org.example/api/data/v9.2/tasks(aa3f0cb0-c592-ed11-aad1-000d3a993550)\r
\r
\r
--batchresponse_156da4b8-cd2e-4d4d-9d5e-a9c7f4e4aa12\r
Content-Type: application/http\r
Content-Transfer-Encoding: binary\r
\r
HTTP/1.1 204 No Content\r
OData-Version: 4.0\r
\r
\r
--batchresponse_156da4b8-cd2e-4d4d-9d5e-a9c7f4e4aa12--\r
"""


def test_decodes_a_continue_on_error_response():
    responses = decode_batch(
        "multipart/mixed; boundary=batchresponse_156da4b8-cd2e-4d4d-9d5e-a9c7f4e4aa12",
        CONTINUE_ON_ERROR.encode(),
    )

    assert [r.status for r in responses] == [400, 204, 204]
    assert responses[0].body["error"]["code"] == "0x80044331"
    assert not responses[0].ok and responses[1].ok
    assert (
        responses[1]
        .headers["odata-entityid"]
        .endswith("tasks(aa3f0cb0-c592-ed11-aad1-000d3a993550)")
    )
    assert responses[2].body is None


CHANGESET_RESPONSE = """--batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f
Content-Type: multipart/mixed; boundary=changesetresponse_ff83b4f1-ab48-430c-b81c-926a2c596abb

--changesetresponse_ff83b4f1-ab48-430c-b81c-926a2c596abb
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

HTTP/1.1 204 No Content
OData-Version: 4.0


--changesetresponse_ff83b4f1-ab48-430c-b81c-926a2c596abb
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

HTTP/1.1 204 No Content
OData-Version: 4.0


--changesetresponse_ff83b4f1-ab48-430c-b81c-926a2c596abb--
--batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 200 OK
Content-Type: application/json; odata.metadata=minimal; odata.streaming=true
OData-Version: 4.0

{"value":[{"subject":"Task 1"}]}
--batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f--
"""


def test_decodes_change_set_parts_in_place_with_lf_line_ends():
    responses = decode_batch(
        'multipart/mixed; boundary="batchresponse_c1bd45c1-dd81-470d-b897-e965846aad2f"',
        CHANGESET_RESPONSE.encode(),
    )

    assert [(r.status, r.content_id) for r in responses] == [(204, "1"), (204, "2"), (200, None)]
    assert responses[2].body == {"value": [{"subject": "Task 1"}]}


def test_unreadable_bodies_raise():
    with pytest.raises(BatchFormatError, match="boundary"):
        decode_batch("application/json", b"{}")
    with pytest.raises(BatchFormatError, match="no part"):
        decode_batch("multipart/mixed; boundary=x", b"nothing here")
