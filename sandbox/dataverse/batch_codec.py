"""OData v4 `$batch` bodies (multipart/mixed) as Dataverse reads and writes them.

Parsing follows RFC 2046: a delimiter is a line `--<boundary>` (the line break before it belongs
to the delimiter, so a part's body keeps every other byte), the closing one `--<boundary>--`;
preamble and epilogue are ignored. Bare LF is accepted wherever CRLF is expected. Responses are
written with CRLF, a `batchresponse_<uuid>` boundary and `changesetresponse_<uuid>` for change
sets, in the shape of Microsoft's execute-batch-operations examples.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from http import HTTPStatus

MAX_OPERATIONS = 1000
_CRLF = "\r\n"


class BatchFormatError(Exception):
    """The $batch body is not a well-formed multipart/mixed batch (answered with 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class BatchRequest:
    method: str
    url: str
    headers: dict[str, str]  # keys lower-cased
    body: bytes
    content_id: str | None

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class ChangeSet:
    boundary: str
    requests: list[BatchRequest]


@dataclass
class BatchResponse:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None


def reason_phrase(status: int) -> str:
    """The reason phrase Dataverse writes after a status code (`204` -> `No Content`)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


_BOUNDARY_PARAMETER = re.compile(r';\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a multipart/mixed content type, quoted or not."""
    if not content_type.strip().lower().startswith("multipart/mixed"):
        raise BatchFormatError(
            f"The content type '{content_type}' is not valid for a batch: "
            "expected 'multipart/mixed; boundary=batch_<id>'."
        )
    match = _BOUNDARY_PARAMETER.search(content_type)
    if match is None:
        raise BatchFormatError(
            f"The content type '{content_type}' has no boundary parameter: "
            "expected 'multipart/mixed; boundary=batch_<id>'."
        )
    return match.group(1) or match.group(2)


def _split_parts(body: bytes, boundary: str, where: str) -> list[bytes]:
    delimiter = re.compile(
        rb"(?:^|\r?\n)--" + re.escape(boundary.encode()) + rb"(--)?[ \t]*(?:\r?\n|$)"
    )
    parts: list[bytes] = []
    start: int | None = None
    for match in delimiter.finditer(body):
        if start is not None:
            parts.append(body[start : match.start()])
        if match.group(1):  # closing delimiter
            return parts
        start = match.end()
    if start is None:
        raise BatchFormatError(f"The {where} does not contain the delimiter '--{boundary}'.")
    raise BatchFormatError(
        f"The {where} is not terminated: the closing delimiter '--{boundary}--' is missing."
    )


def _split_headers(data: bytes, where: str) -> tuple[dict[str, str], bytes]:
    """Header lines up to the first empty line (lower-cased names), and the bytes after it."""
    headers: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        newline = data.find(b"\n", pos)
        end = len(data) if newline < 0 else newline
        line = data[pos:end].rstrip(b"\r")
        pos = end + 1
        if not line:
            return headers, data[pos:]
        name, colon, value = line.decode("utf-8", errors="replace").partition(":")
        if not colon or not name.strip():
            raise BatchFormatError(f"The header line '{line.decode(errors='replace')}' in {where}"
                                   " is not of the form 'Name: value'.")  # fmt: skip
        headers[name.strip().lower()] = value.strip()
    return headers, b""


def _parse_operation(part: bytes, number: int) -> tuple[dict[str, str], BatchRequest]:
    where = f"batch operation {number}"
    part_headers, payload = _split_headers(part, where)
    newline = payload.find(b"\n")
    request_line = (
        (payload if newline < 0 else payload[:newline])
        .rstrip(b"\r")
        .decode("utf-8", errors="replace")
    )
    method, _, rest = request_line.partition(" ")
    url, _, version = rest.rpartition(" ")
    if not re.fullmatch(r"[A-Z]+", method) or not url or not re.fullmatch(r"HTTP/1\.[01]", version):
        raise BatchFormatError(
            f"The request line '{request_line}' of {where} is not valid: "
            "expected 'METHOD URL HTTP/1.1', e.g. 'POST /api/data/v9.2/accounts HTTP/1.1'."
        )
    headers, body = _split_headers(b"" if newline < 0 else payload[newline + 1 :], where)
    content_id = part_headers.get("content-id") or headers.get("content-id")
    return part_headers, BatchRequest(method, url.strip(), headers, body, content_id)


def _check_part_type(part_headers: dict[str, str], number: int) -> None:
    content_type = part_headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/http":
        raise BatchFormatError(
            f"Batch operation {number} has content type '{content_type}': each operation must "
            "be 'Content-Type: application/http' with 'Content-Transfer-Encoding: binary'."
        )
    encoding = part_headers.get("content-transfer-encoding", "binary")
    if encoding.lower() != "binary":
        raise BatchFormatError(
            f"Batch operation {number} has Content-Transfer-Encoding '{encoding}': "
            "only 'binary' is supported."
        )


def _is_batch_url(url: str) -> bool:
    return url.split("?", 1)[0].rstrip("/").endswith("$batch")


def parse_batch(body: bytes, content_type: str) -> list[BatchRequest | ChangeSet]:
    """The operations and change sets of a $batch request body, in order."""
    items: list[BatchRequest | ChangeSet] = []
    count = 0
    for part in _split_parts(body, boundary_of(content_type), "batch body"):
        headers, _ = _split_headers(part, f"batch part {len(items) + 1}")
        part_type = headers.get("content-type", "")
        if part_type.strip().lower().startswith("multipart/"):
            changeset = _parse_changeset(part, boundary_of(part_type), count)
            count += len(changeset.requests)
            items.append(changeset)
        else:
            count += 1
            _check_part_type(headers, count)
            items.append(_parse_single(part, count))
        if count > MAX_OPERATIONS:
            raise BatchFormatError(
                f"The batch contains more than {MAX_OPERATIONS} operations; "
                f"split it into batches of at most {MAX_OPERATIONS}."
            )
    return items


def _parse_single(part: bytes, number: int) -> BatchRequest:
    _, request = _parse_operation(part, number)
    if _is_batch_url(request.url):
        raise BatchFormatError(
            f"Batch operation {number} is itself a $batch request: batches cannot be nested."
        )
    return request


def _parse_changeset(part: bytes, boundary: str, count_before: int) -> ChangeSet:
    _, payload = _split_headers(part, "change set")
    requests: list[BatchRequest] = []
    for inner in _split_parts(payload, boundary, f"change set '{boundary}'"):
        number = count_before + len(requests) + 1
        headers, _ = _split_headers(inner, f"batch operation {number}")
        if headers.get("content-type", "").strip().lower().startswith("multipart/"):
            raise BatchFormatError(
                f"Batch operation {number} is a change set inside change set '{boundary}': "
                "change sets cannot be nested."
            )
        _check_part_type(headers, number)
        request = _parse_single(inner, number)
        if request.method == "GET":
            raise BatchFormatError(
                f"Batch operation {number} is a GET inside change set '{boundary}': "
                "GET requests are not allowed in a change set; move it outside the change set."
            )
        requests.append(request)
    return ChangeSet(boundary, requests)


def _format_part(response: BatchResponse) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if response.content_id is not None:
        lines.append(f"Content-ID: {response.content_id}")
    reason = response.reason or reason_phrase(response.status)
    lines += ["", f"HTTP/1.1 {response.status} {reason}".rstrip()]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    return _CRLF.join(lines) + _CRLF + _CRLF


def format_batch_response(
    items: list[BatchResponse | list[BatchResponse]],
) -> tuple[bytes, str]:
    """The multipart body and content type of a $batch response; a list is a change set."""
    boundary = f"batchresponse_{uuid.uuid4()}"
    out = bytearray()
    for item in items:
        out += f"--{boundary}{_CRLF}".encode()
        if isinstance(item, list):
            changeset = f"changesetresponse_{uuid.uuid4()}"
            out += f"Content-Type: multipart/mixed; boundary={changeset}{_CRLF}{_CRLF}".encode()
            for response in item:
                out += f"--{changeset}{_CRLF}{_format_part(response)}".encode()
                out += response.body + _CRLF.encode()
            out += f"--{changeset}--{_CRLF}".encode()
        else:
            out += _format_part(item).encode() + item.body + _CRLF.encode()
    out += f"--{boundary}--{_CRLF}".encode()
    return bytes(out), f"multipart/mixed; boundary={boundary}"
