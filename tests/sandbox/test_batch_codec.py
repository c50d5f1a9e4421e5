"""$batch multipart codec: Microsoft's documented examples, round trips and malformed bodies."""

from __future__ import annotations

import email.parser
import email.policy
import json
import re

import pytest

from sandbox.dataverse.batch_codec import (
    MAX_OPERATIONS,
    BatchFormatError,
    BatchRequest,
    BatchResponse,
    ChangeSet,
    format_batch_response,
    parse_batch,
)

ACCOUNT_BIND = (
    '"regardingobjectid_account_task@odata.bind": "accounts(00000000-0000-0000-0000-000000000001)"'
)


def task_part(boundary: str, number: int, content_id: str | None = None) -> str:
    content_id_line = f"Content-ID: {content_id}\n" if content_id else ""
    return (
        f"--{boundary}\n"
        "Content-Type: application/http\n"
        "Content-Transfer-Encoding: binary\n"
        f"{content_id_line}"
        "\n"
        "POST /api/data/v9.2/tasks HTTP/1.1\n"
        "Content-Type: application/json; type=entry\n"
        "\n"
        "{\n"
        f'  "subject": "Task {number} in batch",\n'
        f"  {ACCOUNT_BIND}\n"
        "}\n"
    )


GET_TASKS = (
    "GET /api/data/v9.2/accounts(00000000-0000-0000-0000-000000000001)/Account_Tasks"
    "?$select=subject HTTP/1.1"
)

# execute-batch-operations-using-web-api.md: "batch request without change sets"
BATCH = "batch_80dd1615-2a10-428a-bb6f-0e559792721f"
DOC_BATCH = (
    task_part(BATCH, 1)
    + task_part(BATCH, 2)
    + task_part(BATCH, 3)
    + f"--{BATCH}\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\n"
    + f"{GET_TASKS}\n\n\n--{BATCH}--\n"
)

# same page: "use of a change set"
OUTER = "batch_22975cad-7f57-410d-be15-6363209367ea"
CHANGESET = "changeset_246e6bfe-89a4-4c77-b293-7a433f082e8a"
DOC_CHANGESET_BATCH = (
    f'--{OUTER}\nContent-Type: multipart/mixed; boundary="{CHANGESET}"\n\n'
    + task_part(CHANGESET, 1, "1")
    + task_part(CHANGESET, 2, "2")
    + task_part(CHANGESET, 3, "3")
    + f"--{CHANGESET}--\n\n"
    + f"--{OUTER}\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\n"
    + f"{GET_TASKS}\n\n\n--{OUTER}--\n"
)

# same page: "Reference URI in request URL" (unquoted boundary, absolute URL, body then blank line)
DOC_REFERENCE_URL = """--batch_AAA123
Content-Type: multipart/mixed; boundary=changeset_dd81ccab-11ce-4d57-b91d-12c4e25c3cab

--changeset_dd81ccab-11ce-4d57-b91d-12c4e25c3cab
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

POST [Organization URI]/api/data/v9.2/contacts HTTP/1.1
Content-Type: application/json

{
  "firstname":"First Name",
  "lastname":"Last name"
}

--changeset_dd81ccab-11ce-4d57-b91d-12c4e25c3cab
Content-Transfer-Encoding: binary
Content-Type: application/http
Content-ID: 2

PUT $1/lastname HTTP/1.1
Content-Type: application/json

{
  "value":"BBBBB"
}

--changeset_dd81ccab-11ce-4d57-b91d-12c4e25c3cab--
--batch_AAA123--
""".replace("[Organization URI]", "https://127.0.0.1:8443")


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


@pytest.mark.parametrize("line_ending", ["\r\n", "\n"])
def test_documented_batch_without_change_set(line_ending: str) -> None:
    items = parse_batch(
        DOC_BATCH.replace("\n", line_ending).encode(),
        f'multipart/mixed; boundary="{BATCH}"',
    )

    assert [type(item) for item in items] == [BatchRequest] * 4
    creates, get = items[:3], items[3]
    for number, request in enumerate(creates, start=1):
        assert isinstance(request, BatchRequest)
        assert (request.method, request.url) == ("POST", "/api/data/v9.2/tasks")
        assert request.header("Content-Type") == "application/json; type=entry"
        assert json.loads(request.body)["subject"] == f"Task {number} in batch"
        assert request.body.endswith(b"}"), "the line break before the delimiter is not body"
        assert request.content_id is None
    assert isinstance(get, BatchRequest)
    assert get.method == "GET"
    assert get.url == GET_TASKS.split(" ")[1]
    assert get.body == b"" and get.headers == {}


def test_json_body_bytes_are_preserved_exactly() -> None:
    body = '{\r\n  "name": "Caf\u00e9 \\u00e9 ",\n  "x": 1\r\n}'.encode()
    raw = (
        b"--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        b"POST accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n"
        + body
        + b"\r\n--b--\r\n"
    )

    (request,) = parse_batch(raw, "multipart/mixed;boundary=b")

    assert isinstance(request, BatchRequest)
    assert request.body == body


def test_documented_change_set_keeps_content_ids_in_order() -> None:
    items = parse_batch(crlf(DOC_CHANGESET_BATCH), f'multipart/mixed; boundary="{OUTER}"')

    assert len(items) == 2
    changeset, get = items
    assert isinstance(changeset, ChangeSet) and isinstance(get, BatchRequest)
    assert changeset.boundary == CHANGESET
    assert [r.content_id for r in changeset.requests] == ["1", "2", "3"]
    assert [json.loads(r.body)["subject"] for r in changeset.requests] == [
        f"Task {n} in batch" for n in (1, 2, 3)
    ]
    assert get.method == "GET"


def test_documented_reference_in_url_with_absolute_url_and_unquoted_boundary() -> None:
    (changeset,) = parse_batch(DOC_REFERENCE_URL.encode(), "multipart/mixed;boundary=batch_AAA123")

    assert isinstance(changeset, ChangeSet)
    create, put = changeset.requests
    assert create.url == "https://127.0.0.1:8443/api/data/v9.2/contacts"
    assert json.loads(create.body) == {"firstname": "First Name", "lastname": "Last name"}
    assert (put.method, put.url, put.content_id) == ("PUT", "$1/lastname", "2")
    assert json.loads(put.body) == {"value": "BBBBB"}


def test_content_id_in_inner_headers_and_headers_without_space() -> None:
    raw = (
        "--b\nContent-Type:application/http\nContent-Transfer-Encoding:binary\n\n"
        "PATCH $1 HTTP/1.1\nContent-ID: 7\nIf-Match:*\n\n{}\n--b--"
    )

    (request,) = parse_batch(raw.encode(), "multipart/mixed; boundary=b")

    assert isinstance(request, BatchRequest)
    assert request.content_id == "7"
    assert request.header("if-match") == "*" and request.header("IF-MATCH") == "*"


def test_preamble_and_epilogue_are_ignored() -> None:
    raw = (
        "this is a preamble\n--b\nContent-Type: application/http\n\n"
        "DELETE accounts(00000000-0000-0000-0000-000000000001) HTTP/1.1\n\n\n--b--\nepilogue"
    )

    (request,) = parse_batch(raw.encode(), "multipart/mixed; boundary=b")

    assert isinstance(request, BatchRequest) and request.method == "DELETE"


def operation(method: str = "POST", url: str = "accounts") -> str:
    return (
        "--b\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\n"
        f"{method} {url} HTTP/1.1\n\n{{}}\n"
    )


MIXED_B = "multipart/mixed; boundary=b"
PART_HEAD = "--b\nContent-Type: application/http\n"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("multipart/mixed", "no boundary parameter"),
        ("application/json", "not valid for a batch"),
    ],
)
def test_content_type_without_a_multipart_boundary_is_rejected(
    content_type: str, expected: str
) -> None:
    with pytest.raises(BatchFormatError) as raised:
        parse_batch((operation() + "--b--").encode(), content_type)

    assert expected in raised.value.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (operation(), "closing delimiter '--b--' is missing"),
        ("garbage", "does not contain the delimiter '--b'"),
        (operation().replace("HTTP/1.1", "HTTP/2") + "--b--", "expected 'METHOD URL HTTP/1.1'"),
        (PART_HEAD + "\nnonsense\n--b--", "request line 'nonsense'"),
        (operation("POST", "$batch") + "--b--", "cannot be nested"),
        (
            "--b\nContent-Type: text/plain\n\nPOST a HTTP/1.1\n\n--b--",
            "'Content-Type: application/http'",
        ),
        (
            PART_HEAD + "Content-Transfer-Encoding: base64\n\nPOST a HTTP/1.1\n\n--b--",
            "only 'binary'",
        ),
        ("--b\nnot a header\n\nPOST a HTTP/1.1\n\n--b--", "'Name: value'"),
    ],
)
def test_malformed_batches_are_rejected_with_an_actionable_message(
    body: str, expected: str
) -> None:
    with pytest.raises(BatchFormatError) as raised:
        parse_batch(body.encode(), MIXED_B)

    assert expected in raised.value.message


def changeset_of(*operations: str) -> str:
    inner = "".join(op.replace("--b\n", "--cs\n") for op in operations)
    return f"--b\nContent-Type: multipart/mixed; boundary=cs\n\n{inner}--cs--\n"


def test_get_inside_a_change_set_is_rejected() -> None:
    body = changeset_of(operation(), operation("GET", "accounts")) + "--b--"

    with pytest.raises(BatchFormatError, match="GET requests are not allowed in a change set"):
        parse_batch(body.encode(), "multipart/mixed; boundary=b")


def test_nested_change_set_is_rejected() -> None:
    nested = "--cs\nContent-Type: multipart/mixed; boundary=inner\n\n--inner--\n"
    body = f"--b\nContent-Type: multipart/mixed; boundary=cs\n\n{nested}--cs--\n--b--"

    with pytest.raises(BatchFormatError, match="change sets cannot be nested"):
        parse_batch(body.encode(), "multipart/mixed; boundary=b")


def test_change_set_without_closing_delimiter_is_rejected() -> None:
    unclosed = operation().replace("--b", "--cs")
    body = f"--b\nContent-Type: multipart/mixed; boundary=cs\n\n{unclosed}--b--"

    with pytest.raises(BatchFormatError, match="'--cs--' is missing"):
        parse_batch(body.encode(), "multipart/mixed; boundary=b")


def test_operation_limit_counts_change_set_members() -> None:
    at_limit = changeset_of(*[operation()] * 10) + operation() * (MAX_OPERATIONS - 10)
    assert len(parse_batch((at_limit + "--b--").encode(), "multipart/mixed; boundary=b")) == 991

    with pytest.raises(BatchFormatError, match=f"more than {MAX_OPERATIONS} operations"):
        parse_batch((at_limit + operation() + "--b--").encode(), "multipart/mixed; boundary=b")


# --- responses ------------------------------------------------------------------------------


def created(entity_id: str, content_id: str | None = None) -> BatchResponse:
    location = f"https://org.example/api/data/v9.2/tasks({entity_id})"
    headers = {"OData-Version": "4.0", "Location": location, "OData-EntityId": location}
    return BatchResponse(204, "No Content", headers, b"", content_id)


def parse_response(body: bytes, content_type: str) -> list[object]:
    """Test-only reader built on the stdlib email parser (an independent MIME implementation)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    assert message.is_multipart() and not message.defects
    return [read_part(part) for part in message.iter_parts()]


def read_part(part: email.message.EmailMessage) -> object:
    if part.get_content_type() == "multipart/mixed":
        return [read_part(inner) for inner in part.iter_parts()]
    assert part["Content-Type"] == "application/http"
    assert part["Content-Transfer-Encoding"] == "binary"
    raw = part.get_payload(decode=True)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    version, status, reason = status_line.split(" ", 2)
    assert version == "HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in header_lines)
    return BatchResponse(int(status), reason, headers, body, part["Content-ID"])


def test_formatted_response_round_trips_through_an_independent_mime_parser() -> None:
    query = BatchResponse(
        200,
        "OK",
        {"Content-Type": "application/json; odata.metadata=minimal", "OData-Version": "4.0"},
        b'{"value":[{"subject":"Task 1 in batch"}]}',
        None,
    )
    items: list[BatchResponse | list[BatchResponse]] = [
        [created("e73ffc82-e292-ed11-aad1-000d3a9933c9", "1"), created("e83f", "2")],
        query,
        BatchResponse(400, "", {"OData-Version": "4.0"}, b'{"error":{"code":"0x1"}}', None),
    ]

    body, content_type = format_batch_response(items)

    assert re.fullmatch(r"multipart/mixed; boundary=batchresponse_[0-9a-f-]{36}", content_type)
    parsed = parse_response(body, content_type)
    assert parsed[0] == items[0]
    assert parsed[1] == query
    assert parsed[2] == BatchResponse(400, "Bad Request", {"OData-Version": "4.0"},
                                      b'{"error":{"code":"0x1"}}', None)  # fmt: skip


def test_formatted_response_has_dataverse_layout() -> None:
    body, content_type = format_batch_response([created("d31b"), [created("e73f", "1")]])
    boundary = content_type.split("boundary=")[1]
    text = body.decode()
    changeset = re.search(r"boundary=(changesetresponse_[0-9a-f-]{36})\r\n", text)

    assert changeset is not None
    assert "\n" not in text.replace("\r\n", "")
    assert text.startswith(
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        "\r\nHTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\n"
    )
    assert "Content-ID: 1\r\n\r\nHTTP/1.1 204 No Content\r\n" in text
    assert text.endswith(f"--{changeset.group(1)}--\r\n--{boundary}--\r\n")


def test_parse_batch_reads_a_formatted_change_set_shape() -> None:
    """parse_batch and format_batch_response agree on the multipart framing."""
    body, content_type = format_batch_response([[created("a", "1"), created("b", "2")]])
    request_like = re.sub(rb"HTTP/1.1 204 No Content", b"PATCH $1 HTTP/1.1", body)

    (changeset,) = parse_batch(request_like, content_type)

    assert isinstance(changeset, ChangeSet)
    assert [r.content_id for r in changeset.requests] == ["1", "2"]
    assert changeset.requests[0].header("location", "").endswith("tasks(a)")
