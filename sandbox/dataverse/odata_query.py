"""OData v4 query options as Dataverse's Web API reads them: $filter, $orderby, $select, $expand,
the Prefer header and the paging-cookie $skiptoken.

A filter is parsed once into a closure over a record dict (logical name -> value). String
comparisons follow Dataverse's SQL Server collation (Latin1_General_CI_AI: case- and
accent-insensitive, trailing spaces ignored by `eq`); contains/startswith/endswith become SQL
LIKE, so `%`, `_` and `[..]` in the value are wildcards; comparisons with NULL follow SQL's
three-valued logic, so `name ne 'x'` and `not (name eq 'x')` both skip rows where name is null.
"""

from __future__ import annotations

import json
import operator
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn, cast
from urllib.parse import quote, unquote

# The code Dataverse puts on query-option parse errors (400).
QUERY_ERROR_CODE = "0x80060888"


class ODataQueryError(Exception):
    """A query option Dataverse would reject with 400; `message` is Dataverse's text."""

    def __init__(self, message: str, code: str = QUERY_ERROR_CODE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


Record = dict[str, object]
Predicate = Callable[[Record], bool]
_Tri = Callable[[Record], bool | None]  # internal predicates: True, False or None (UNKNOWN)
_Normaliser = Callable[[object], object]

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_GUID_RE = re.compile(r"\{?(" + _GUID + r")\}?")
_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T|$)")
_TOKEN_RE = re.compile(
    r"""\s*(?:
      (?P<STRING>'(?:[^']|'')*')
    | (?P<ARRAY>\[(?:"[^"]*"|[^"\]])*\])
    | (?P<DATETIME>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<GUID>"""
    + _GUID
    + r""")(?![\w-])
    | (?P<DATE>\d{4}-\d{2}-\d{2})(?![\w:])
    | (?P<NUMBER>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)[mMdDfFlL]?(?![\w.])
    | (?P<IDENT>[A-Za-z_$]\w*(?:[./][A-Za-z_$]\w*)*)
    | (?P<ALIAS>@[A-Za-z_]\w*)
    | (?P<PUNCT>[(),=]))""",
    re.VERBOSE,
)
_ARRAY_ITEM_RE = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([^,\s\]"']+))\s*(?:,|$)""")
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt,
    "ge": operator.ge, "lt": operator.lt, "le": operator.le,
}  # fmt: skip
_MIRRORED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
_CRM_PREFIX = "Microsoft.Dynamics.CRM."
_INCOMPARABLE = object()


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # a _TOKEN_RE group name, or EOF
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class _Literal:
    kind: str  # STRING NUMBER BOOL NULL GUID DATETIME ARRAY
    value: object


def fold_text(value: str) -> str:
    """Case- and accent-insensitive form of a string, as Latin1_General_CI_AI compares it."""
    folded = value.casefold()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _as_instant(value: object) -> object:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return _INCOMPARABLE
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return _INCOMPARABLE


def _as_number(value: object) -> object:
    if isinstance(value, int | Decimal):
        return value
    try:  # repr: a float 0.1 must equal the decimal literal 0.1
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return _INCOMPARABLE


def _as_bool(value: object) -> object:
    text = str(value).lower()
    return text in ("true", "1") if text in ("true", "false", "1", "0") else _INCOMPARABLE


def _as_text(value: object) -> object:
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return fold_text(text).rstrip(" ")


def _as_guid(value: object) -> object:
    return value.strip("{}").lower() if isinstance(value, str) else _INCOMPARABLE


_NORMALISERS: dict[str, _Normaliser] = {
    "STRING": _as_text, "NUMBER": _as_number, "BOOL": _as_bool,
    "GUID": _as_guid, "DATETIME": _as_instant,
}  # fmt: skip


def _normaliser_for(value: object) -> _Normaliser:
    """In/Between items arrive as strings: the record value's type decides how to compare."""
    if isinstance(value, bool):
        return _as_bool
    if isinstance(value, int | float | Decimal):
        return _as_number
    if isinstance(value, date):
        return _as_instant
    if not isinstance(value, str) or not value[:1].isalnum() and value[:1] != "{":
        return _as_text
    if len(value) in (36, 38) and _GUID_RE.fullmatch(value):
        return _as_guid
    return _as_instant if _ISO_DATE_RE.match(value) else _as_text


def _tokenize(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while match := _TOKEN_RE.match(text, pos):
        group = match.lastgroup or ""
        kind = match.group(group) if group == "PUNCT" else group  # punctuation is its own kind
        tokens.append(_Token(kind, match.group(group), match.start(group)))
        pos = match.end()
    rest = text[pos:].lstrip()
    position = len(text) - len(rest)
    if rest and rest[0] in "'[":
        message = f"There is an unterminated literal at position {len(text)} in '{text}'."
        raise ODataQueryError(message)
    if rest:
        message = f"character '{rest[0]}' is not valid at position {position} in '{text}'."
        raise ODataQueryError(f"Syntax error: {message}")
    return [*tokens, _Token("EOF", "", len(text))]


def _parse_array(raw: str) -> list[object]:
    """A JSON-ish array as Dataverse reads it: "..." or '...' items; a bare apostrophe breaks it."""
    body, items, pos = raw.strip()[1:-1], [], 0
    while body[pos:].strip():
        match = _ARRAY_ITEM_RE.match(body, pos)
        if match is None:
            raise ODataQueryError(
                "Invalid JSON. A comma character ',' was expected in scope 'Array'. Every two "
                "elements in an array and properties of an object must be separated by commas."
            )
        double, single, bare = match.groups()
        items.append(_bare_json(bare, raw) if bare is not None else (double or single or ""))
        pos = match.end()
    return items


def _bare_json(text: str, raw: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ODataQueryError(f"Invalid JSON. Unexpected value '{text}' in '{raw}'.") from None


def _literal(token: _Token) -> _Literal | None:
    kind, text = token.kind, token.text
    if kind == "STRING":
        value = text[1:-1].replace("''", "'")
        guid = value.startswith("{") and _GUID_RE.fullmatch(value)
        return _Literal("GUID", guid.group(1).lower()) if guid else _Literal("STRING", value)
    if kind == "NUMBER":
        return _Literal("NUMBER", int(text) if re.fullmatch(r"-?\d+", text) else Decimal(text))
    if kind == "GUID":
        return _Literal("GUID", text.lower())
    if kind == "ARRAY":
        return _Literal("ARRAY", _parse_array(text))
    if kind in ("DATETIME", "DATE"):
        return _Literal("DATETIME", _as_instant(text))
    if kind == "IDENT" and text in ("true", "false", "null"):
        return _Literal("NULL", None) if text == "null" else _Literal("BOOL", text == "true")
    return None


class _FilterParser:
    """Recursive descent over the tokens, straight into closures."""

    def __init__(self, text: str, aliases: dict[str, str], known: set[str] | None, entity: str):
        self.text, self.aliases, self.known, self.entity = text, aliases, known, entity
        self.tokens, self.index = _tokenize(text), 0

    def parse(self) -> _Tri:
        predicate = self._chain("or", _any_of)
        self._expect("EOF")
        return predicate

    def _next(self, kind: str | None = None, word: str | None = None) -> _Token | None:
        """Consume the next token if it matches (any token when no filter is given)."""
        token = self.tokens[self.index]
        if (kind and token.kind != kind) or (word and (token.kind, token.text) != ("IDENT", word)):
            return None
        self.index += 1
        return token

    def _expect(self, kind: str) -> _Token:
        token = self._next(kind)
        if token is None:
            self._fail(self.tokens[self.index])
        return token

    def _fail(self, token: _Token) -> NoReturn:
        raise ODataQueryError(f"Syntax error at position {token.pos} in '{self.text}'.")

    def _chain(self, word: str, combine: Callable[[list[_Tri]], _Tri]) -> _Tri:
        element = (lambda: self._chain("and", _all_of)) if word == "or" else self._unary
        terms = [element()]
        while self._next(word=word):
            terms.append(element())
        return terms[0] if len(terms) == 1 else combine(terms)

    def _unary(self) -> _Tri:
        if self._next(word="not"):
            return _negation(self._unary())
        if self._next("("):
            inner = self._chain("or", _any_of)
            self._expect(")")
            return inner
        if self.tokens[self.index].kind == "IDENT" and self.tokens[self.index + 1].text == "(":
            return self._function_call()
        return self._comparison()

    def _operand(self) -> str | _Literal:
        token = self.tokens[self.index]
        self.index += 1
        if token.kind == "ALIAS":
            return self._alias(token.text)
        literal = _literal(token)
        if literal is None and token.kind != "IDENT":
            self._fail(token)
        return literal or self._property(token.text)

    def _alias(self, name: str) -> _Literal:
        raw = self.aliases.get(name)
        if raw is None:  # OData: an alias given no value is null
            return _Literal("NULL", None)
        tokens = _tokenize(raw)
        literal = _literal(tokens[0]) if len(tokens) == 2 else None
        if literal is None:
            raise ODataQueryError(f"Syntax error at position 0 in '{raw}'.")
        return literal

    def _property(self, path: str) -> str:
        head = path.split("/", 1)[0]
        if self.known is not None and path not in self.known and head not in self.known:
            raise ODataQueryError(
                f"Could not find a property named '{head}' on type "
                f"'Microsoft.Dynamics.CRM.{self.entity}'."
            )
        return path

    def _comparison(self) -> _Tri:
        left = self._operand()
        op = self.tokens[self.index]
        if op.kind != "IDENT" or op.text not in _COMPARISONS:
            self._fail(op)
        self.index += 1
        right = self._operand()
        if isinstance(left, _Literal) and isinstance(right, str):
            return _compare(right, _MIRRORED[op.text], left)
        if isinstance(left, str) and isinstance(right, _Literal):
            return _compare(left, op.text, right)
        what = "properties" if isinstance(left, str) else "literals"
        raise ODataQueryError(
            f"Comparing two {what} at position {op.pos} in '{self.text}' is not supported."
        )

    def _function_call(self) -> _Tri:
        name = self._expect("IDENT")
        self._expect("(")
        if name.text in ("contains", "startswith", "endswith"):
            path = self._operand()
            self._expect(",")
            needle = self._operand()
            self._expect(")")
            if not isinstance(path, str) or not isinstance(needle, _Literal):
                self._fail(name)
            return _like(path, name.text, needle)
        function = _CRM_FUNCTIONS.get(name.text.removeprefix(_CRM_PREFIX))
        if not name.text.startswith(_CRM_PREFIX) or function is None:
            raise ODataQueryError(
                f"An unknown function with name '{name.text}' was found. This may also be a "
                "function import or a key lookup on a navigation property, which is not allowed."
            )
        arguments: dict[str, object] = {}
        while not self._next(")"):
            key = self._expect("IDENT").text
            self._expect("=")
            arguments[key] = self._operand()
            self._next(",")
        property_name, values = arguments.get("PropertyName"), arguments.get("PropertyValues")
        if not isinstance(property_name, _Literal) or property_name.kind != "STRING":
            raise ODataQueryError(f"The PropertyName parameter of {name.text} must be a string.")
        items: list[object] = []
        if isinstance(values, _Literal) and values.kind == "ARRAY":
            items = cast(list[object], values.value)
        return function(self._property(str(property_name.value)), items)


def _any_of(terms: list[_Tri]) -> _Tri:
    def evaluate(record: Record) -> bool | None:
        unknown = False
        for term in terms:
            result = term(record)
            if result is True:
                return True
            unknown = unknown or result is None
        return None if unknown else False

    return evaluate


def _all_of(terms: list[_Tri]) -> _Tri:
    def evaluate(record: Record) -> bool | None:
        unknown = False
        for term in terms:
            result = term(record)
            if result is False:
                return False
            unknown = unknown or result is None
        return None if unknown else True

    return evaluate


def _negation(term: _Tri) -> _Tri:
    def evaluate(record: Record) -> bool | None:
        result = term(record)
        return None if result is None else not result

    return evaluate


def _compare(path: str, op: str, literal: _Literal) -> _Tri:
    if literal.kind == "NULL":
        if op not in ("eq", "ne"):
            return lambda record: None
        want_null = op == "eq"
        return lambda record: (record.get(path) is None) == want_null
    if literal.kind == "ARRAY":
        raise ODataQueryError(f"A collection cannot be compared with '{op}' on '{path}'.")
    normalise, compare = _NORMALISERS[literal.kind], _COMPARISONS[op]
    target = normalise(literal.value)

    def evaluate(record: Record) -> bool | None:
        value = record.get(path)
        if value is None:
            return None
        normalised = normalise(value)
        return False if normalised is _INCOMPARABLE else compare(normalised, target)

    return evaluate


_PLAIN_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda value, text: text in value,
    "startswith": str.startswith,
    "endswith": str.endswith,
}


def _like(path: str, function: str, needle: _Literal) -> _Tri:
    text = fold_text(str(needle.value))
    pattern = {"contains": f"%{text}%", "startswith": f"{text}%", "endswith": f"%{text}"}
    check: Callable[[str], object] = re.compile(_like_to_regex(pattern[function]), re.S).fullmatch
    if not any(char in text for char in "%_["):  # the common case, without a regex
        plain = _PLAIN_MATCHERS[function]

        def check(value: str) -> object:
            return plain(value, text)

    def evaluate(record: Record) -> bool | None:
        value = record.get(path)
        if value is None or needle.kind == "NULL":
            return None
        return bool(check(fold_text(value if isinstance(value, str) else str(value))))

    return evaluate


def _like_to_regex(pattern: str) -> str:
    """SQL LIKE -> regex: % any run, _ one character, [abc] / [^abc] / [a-z] sets."""
    parts, pos = [], 0
    while pos < len(pattern):
        char, close = pattern[pos], pattern.find("]", pos + 1)
        if char == "[" and close > pos + 1:
            body = pattern[pos + 1 : close]
            negate = "^" if body.startswith("^") else ""
            members = re.escape(body.removeprefix("^")).replace("\\-", "-")  # keep a-z ranges
            parts.append(f"[{negate}{members}]")
            pos = close
        else:
            parts.append({"%": ".*", "_": "."}.get(char, re.escape(char)))
        pos += 1
    return "".join(parts)


def _in(path: str, values: list[object], negate: bool = False) -> _Tri:
    members_by_type: dict[_Normaliser, set[object]] = {}

    def evaluate(record: Record) -> bool | None:
        value = record.get(path)
        if value is None:
            return None
        normalise = _normaliser_for(value)
        if normalise not in members_by_type:
            normalised = (normalise(item) for item in values if item is not None)
            members_by_type[normalise] = {n for n in normalised if n is not _INCOMPARABLE}
        current = normalise(value)
        return current is not _INCOMPARABLE and (current in members_by_type[normalise]) != negate

    return evaluate


def _between(path: str, values: list[object], negate: bool = False) -> _Tri:
    if len(values) != 2:
        raise ODataQueryError("The PropertyValues parameter of Between must have two values.")

    def evaluate(record: Record) -> bool | None:
        value = record.get(path)
        if value is None:
            return None
        normalise = _normaliser_for(value)
        low, high, current = normalise(values[0]), normalise(values[1]), normalise(value)
        if any(v is _INCOMPARABLE for v in (low, high, current)):
            return False
        return (low <= current <= high) != negate  # type: ignore[operator]

    return evaluate


_CRM_FUNCTIONS: dict[str, Callable[[str, list[object]], _Tri]] = {
    "In": _in,
    "NotIn": lambda path, values: _in(path, values, negate=True),
    "Between": _between,
    "NotBetween": lambda path, values: _between(path, values, negate=True),
    "Null": lambda path, _: lambda record: record.get(path) is None,
    "NotNull": lambda path, _: lambda record: record.get(path) is not None,
}


def parse_filter(
    text: str,
    aliases: dict[str, str],
    *,
    known_properties: set[str] | None = None,
    entity: str = "",
) -> Predicate:
    """Compile a $filter into `record -> bool` (True only when the condition is definitely met).

    A path `a/b` is looked up as the key "a/b" of the record; with known_properties, it is valid
    when "a/b" or "a" is known.
    """
    predicate = _FilterParser(text, aliases, known_properties, entity).parse()
    return lambda record: predicate(record) is True


_IDENTIFIER_RE = re.compile(r"\s*([A-Za-z_]\w*(?:/[A-Za-z_]\w*)*)\s*")


def _identifier(item: str, text: str) -> str:
    match = _IDENTIFIER_RE.fullmatch(item)
    if match is None:
        raise ODataQueryError(f"Syntax error at position {max(text.find(item), 0)} in '{text}'.")
    return match.group(1)


def parse_orderby(text: str) -> list[tuple[str, bool]]:
    """`name asc, createdon desc` -> [("name", False), ("createdon", True)] (name, descending)."""
    order = []
    for item in text.split(","):
        name, _, direction = item.strip().partition(" ")
        if direction.strip() not in ("", "asc", "desc"):
            raise ODataQueryError(f"Syntax error at position {text.find(item)} in '{text}'.")
        order.append((_identifier(name, text), direction.strip() == "desc"))
    return order


def _sql_server_guid_key(value: str) -> str:
    """SQL Server orders uniqueidentifier by its display groups, the last group first."""
    g = value.strip("{}").lower()
    return g[24:36] + g[19:23] + g[14:18] + g[9:13] + g[0:8]


def _sort_key(records: list[Record], name: str) -> Callable[[Record], tuple[bool, object]]:
    sample = next((r[name] for r in records if r.get(name) is not None), None)
    guids = isinstance(sample, str) and bool(_GUID_RE.fullmatch(sample))

    def key(record: Record) -> tuple[bool, object]:
        value = record.get(name)
        if isinstance(value, str):
            guid = guids and len(value) in (36, 38)
            return True, _sql_server_guid_key(value) if guid else fold_text(value)
        if value is None:
            return False, 0
        return True, _as_number(value) if isinstance(value, float) else value

    return key


def sort_records(records: list[Record], orderby: list[tuple[str, bool]]) -> list[Record]:
    """Sort as SQL Server does: NULL lowest (first ascending, last descending), CI_AI strings."""
    ordered = list(records)
    for name, descending in reversed(orderby):  # stable sorts, least significant key first
        ordered.sort(key=_sort_key(ordered, name), reverse=descending)
    return ordered


def parse_select(text: str) -> list[str]:
    return [_identifier(item, text) for item in text.split(",")] if text.strip() else []


@dataclass(frozen=True)
class ExpandItem:
    navigation: str
    select: list[str] | None
    # Other nested options ($filter, $orderby, $top, $expand), raw, for the caller to apply.
    options: dict[str, str] = field(default_factory=dict)


def _split(text: str, separator: str, quote_char: str, nest: bool) -> list[str]:
    """Split on separator outside quotes (and outside parentheses when nest)."""
    parts: list[str] = []
    depth, start, quoted = 0, 0, False
    for pos, char in enumerate(text):
        quoted = quoted != (char == quote_char)
        if not quoted and nest:
            depth += {"(": 1, ")": -1}.get(char, 0)
        if char == separator and not quoted and depth == 0:
            parts, start = [*parts, text[start:pos]], pos + 1
    if depth or quoted:
        raise ODataQueryError(f"Syntax error at position {len(text)} in '{text}'.")
    return [*parts, text[start:]]


def parse_expand(text: str) -> list[ExpandItem]:
    """`primarycontactid($select=fullname),createdby` -> ExpandItems."""
    items = []
    for part in _split(text, ",", "'", nest=True):
        head, _, rest = part.strip().partition("(")
        select, options = None, {}
        for option in _split(rest.removesuffix(")"), ";", "'", nest=True) if rest else []:
            key, equals, value = option.strip().partition("=")
            if not equals or not key.startswith("$"):
                raise ODataQueryError(f"Syntax error at position 0 in '{option.strip()}'.")
            if key == "$select":
                select = parse_select(value)
            else:
                options[key] = value
        items.append(ExpandItem(_identifier(head, text), select, options))
    return items


def parse_prefer(header: str) -> dict[str, str]:
    """`odata.maxpagesize=2, return=representation, odata.continue-on-error` -> dict.

    Names are lower-cased (preferences are case-insensitive), quoted values unquoted, and a
    preference without a value maps to "".
    """
    preferences = {}
    for part in _split(header, ",", '"', nest=False):
        name, _, value = part.strip().partition("=")
        if name.strip():
            preferences[name.strip().lower()] = value.strip().strip('"')
    return preferences


_COOKIE_RE = re.compile(
    r'\s*<cookie\s+pagenumber="(\d+)"\s+pagingcookie="([^"]*)"(?:\s+istracking="\w+")?\s*/>\s*'
)


def make_skiptoken(
    page_number: int, last_id: str, *, key_name: str = "id", first_id: str | None = None
) -> str:
    """The $skiptoken Dataverse puts in @odata.nextLink for `page_number`, not yet URL-encoded.

    pagingcookie holds the previous page's `<cookie page="N-1"><key last="{GUID}"
    first="{GUID}" /></cookie>`, URL-encoded with .NET's lower-case escapes; encoding the whole
    token for the URL then gives Microsoft's documented nextLink (`pagingcookie=%22%253ccookie..`).
    """
    if page_number < 1:
        raise ValueError("page_number starts at 1")
    last, first = _cookie_id(last_id), _cookie_id(first_id or last_id)
    inner = (
        f'<cookie page="{page_number - 1}"><{key_name} last="{last}" first="{first}" /></cookie>'
    )
    encoded = re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(inner, safe=""))
    return f'<cookie pagenumber="{page_number}" pagingcookie="{encoded}" istracking="False" />'


def _cookie_id(value: str) -> str:
    return "{" + value.strip("{}").upper() + "}" if _GUID_RE.fullmatch(value) else value


def read_skiptoken(text: str) -> tuple[int, str]:
    """(page_number, last_id) from a $skiptoken, whether or not still URL-encoded."""
    match = _COOKIE_RE.fullmatch(unquote(text) if text.lstrip().startswith("%3C") else text)
    inner = re.search(r'<\w+\s+last="([^"]*)"', unquote(match.group(2))) if match else None
    if match is None or inner is None:
        raise ODataQueryError(f"The $skiptoken value '{text}' is not a valid paging cookie.")
    guid = _GUID_RE.fullmatch(inner.group(1))
    return int(match.group(1)), guid.group(1).lower() if guid else inner.group(1)
