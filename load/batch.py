"""The OData `$batch` multipart codec: requests out, responses in.

Kept to what the loader sends: parts of JSON requests, optionally inside one change set (atomic).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

__all__ = ["BatchFormatError", "BatchRequest", "BatchResponse", "encode_batch", "decode_batch"]

CRLF = "\r\n"


class BatchFormatError(Exception):
    """A `$batch` response body that cannot be read as multipart/mixed."""


@dataclass(frozen=True)
class BatchRequest:
    method: str
    url: str  # relative to the Web API root, e.g. "accounts(00000000-…)"
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResponse:
    status: int
    headers: Mapping[str, str]
    body: Any
    content_id: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def encode_batch(
    requests: Sequence[BatchRequest], *, api_path: str, changeset: bool = False
) -> tuple[str, bytes]:
    """Return (content type, body) of a `$batch` POST; `api_path` is e.g. "/api/data/v9.2/"."""
    batch = f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    if changeset:
        inner = f"changeset_{uuid.uuid4()}"
        lines += [f"--{batch}", f"Content-Type: multipart/mixed; boundary={inner}", ""]
        for number, request in enumerate(requests, start=1):
            lines += [f"--{inner}", *_request_part(request, api_path, content_id=str(number))]
        lines += [f"--{inner}--"]
    else:
        for request in requests:
            lines += [f"--{batch}", *_request_part(request, api_path, content_id=None)]
    lines += [f"--{batch}--", ""]
    return f"multipart/mixed; boundary={batch}", CRLF.join(lines).encode()


def _request_part(request: BatchRequest, api_path: str, content_id: str | None) -> list[str]:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{request.method} {api_path}{request.url} HTTP/1.1"]
    headers = dict(request.headers)
    if request.body is not None:
        headers.setdefault("Content-Type", "application/json; type=entry")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append("")
    body = "" if request.body is None else json.dumps(request.body, ensure_ascii=False)
    lines.append(body)
    return lines


def decode_batch(content_type: str, body: bytes) -> list[BatchResponse]:
    """Every response part in order; the parts of a change set are flattened in place."""
    return _decode_multipart(content_type, body.decode("utf-8"))


def _decode_multipart(content_type: str, text: str) -> list[BatchResponse]:
    boundary = _boundary(content_type)
    responses: list[BatchResponse] = []
    for part in _parts(text, boundary):
        headers, content = _split_head(part)
        part_type = headers.get("content-type", "")
        if part_type.lower().startswith("multipart/mixed"):
            responses += _decode_multipart(part_type, content)
        else:
            responses.append(_http_response(content, headers.get("content-id")))
    return responses


def _boundary(content_type: str) -> str:
    message = Message()
    message["Content-Type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise BatchFormatError(f"no boundary in content type {content_type!r}")
    return boundary


def _parts(text: str, boundary: str) -> list[str]:
    delimiter, closing = f"--{boundary}", f"--{boundary}--"
    parts: list[list[str]] = []
    current: list[str] | None = None
    for line in text.split("\n"):
        line = line.removesuffix("\r")
        if line.rstrip() == closing:
            break
        if line.rstrip() == delimiter:
            current = []
            parts.append(current)
        elif current is not None:
            current.append(line)
    if not parts:
        raise BatchFormatError(f"no part delimited by {delimiter!r}")
    return ["\n".join(lines) for lines in parts]


def _split_head(block: str) -> tuple[dict[str, str], str]:
    if block.startswith("\n"):
        return {}, block[1:]
    head, _, rest = block.partition("\n\n")
    headers: dict[str, str] = {}
    for line in head.split("\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _http_response(content: str, content_id: str | None) -> BatchResponse:
    status_line, _, rest = content.lstrip("\n").partition("\n")
    pieces = status_line.split(" ", 2)
    if len(pieces) < 2 or not pieces[1].isdigit():
        raise BatchFormatError(f"not an HTTP status line: {status_line!r}")
    headers, body_text = _split_head(rest) if rest.strip() else ({}, "")
    body_text = body_text.strip()
    body: Any = body_text or None
    if body_text and "json" in headers.get("content-type", "json"):
        try:
            body = json.loads(body_text)
        except ValueError:
            body = body_text
    return BatchResponse(int(pieces[1]), headers, body, content_id or headers.get("content-id"))
