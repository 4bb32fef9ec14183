"""``POST /v2/workspaces/{id}/search``: the events service's Elasticsearch search, on a small DSL subset.

Documents are the stored events plus ``@timestamp`` (their ``createdAt``), as in the events index.
Supported queries: ``match_all``, ``term``, ``terms``, ``match``, ``match_phrase``, ``prefix``,
``range``, ``exists`` and ``bool`` (must, filter, should, must_not). Aggregations: ``terms``,
``filter``, ``filters`` (keyed), ``value_count``, ``cardinality``, ``min``, ``max``; ``terms``, ``filter``
and ``filters`` take sub-aggregations (``aggs``) per bucket, as Elasticsearch does. Anything else is a 400,
not a silent match-all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tui.sandbox.store import SandboxError, dig

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}
BODY_KEYS = {"scope", "limit", "page", "query", "aggs", "runtime_mappings", "source", "sort", "track_total_hits"}


def _invalid(message: str) -> SandboxError:
    return SandboxError(400, "RequestValidationError", message)


def _field(doc: dict[str, Any], name: str) -> Any:
    name = name.removesuffix(".keyword")
    return doc.get(name) if name in doc else dig(doc, name)


def _single(clause: Any, kind: str) -> tuple[str, Any]:
    if not isinstance(clause, dict) or len(clause) != 1:
        raise _invalid(f"[{kind}] query takes exactly one field")
    return next(iter(clause.items()))


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _term(doc: dict[str, Any], clause: Any, kind: str) -> bool:
    name, wanted = _single(clause, kind)
    if isinstance(wanted, dict):
        wanted = wanted.get("value", wanted.get("query"))
    return any(str(v) == str(wanted) for v in _values(_field(doc, name)) if v is not None)


def _match(doc: dict[str, Any], clause: Any, kind: str) -> bool:
    name, wanted = _single(clause, kind)
    if isinstance(wanted, dict):
        wanted = wanted.get("query")
    text = " ".join(str(v) for v in _values(_field(doc, name)) if v is not None).lower()
    needle = str(wanted).lower()
    if kind == "match_phrase":
        return needle in text
    words = [*text.replace(".", " ").replace("-", " ").split(), text]
    return any(word in words or word in text for word in needle.split())


def _range(doc: dict[str, Any], clause: Any) -> bool:
    name, bounds = _single(clause, "range")
    if not isinstance(bounds, dict):
        raise _invalid("[range] takes {gt, gte, lt, lte}")
    value = _field(doc, name)
    if value is None:
        return False
    for op, bound in bounds.items():
        if op not in _COMPARE:
            continue  # format, time_zone...
        numbers = isinstance(value, int | float) and isinstance(bound, int | float)
        if not _COMPARE[op](*((value, bound) if numbers else (str(value), str(bound)))):
            return False
    return True


def matches(doc: dict[str, Any], query: Any) -> bool:
    if not isinstance(query, dict) or len(query) != 1:
        raise _invalid("a query is an object with exactly one clause")
    kind, clause = next(iter(query.items()))
    if kind == "match_all":
        return True
    if kind == "bool":
        return _bool(doc, clause)
    if kind == "term":
        return _term(doc, clause, kind)
    if kind == "terms":
        name, wanted = _single(clause, kind)
        return any(str(v) in {str(w) for w in _values(wanted)} for v in _values(_field(doc, name)) if v is not None)
    if kind in ("match", "match_phrase"):
        return _match(doc, clause, kind)
    if kind == "prefix":
        name, wanted = _single(clause, kind)
        wanted = wanted.get("value") if isinstance(wanted, dict) else wanted
        return str(_field(doc, name) or "").startswith(str(wanted))
    if kind == "range":
        return _range(doc, clause)
    if kind == "exists":
        return isinstance(clause, dict) and _field(doc, str(clause.get("field"))) is not None
    raise _invalid(f"query [{kind}] is not supported by the sandbox")


def _bool(doc: dict[str, Any], clause: Any) -> bool:
    if not isinstance(clause, dict):
        raise _invalid("[bool] takes an object")
    for key in ("must", "filter"):
        if not all(matches(doc, q) for q in _values(clause.get(key) or [])):
            return False
    if any(matches(doc, q) for q in _values(clause.get("must_not") or [])):
        return False
    should = _values(clause.get("should") or [])
    if should:
        needed = int(clause.get("minimum_should_match", 1 if not (clause.get("must") or clause.get("filter")) else 0))
        return sum(matches(doc, q) for q in should) >= needed
    return True


def _sort_key(doc: dict[str, Any], name: str) -> tuple[int, Any]:
    value = _field(doc, name)
    return (0, "") if value is None else (1, value if isinstance(value, int | float) else str(value))


def _sorted(docs: list[dict[str, Any]], sort: Any) -> list[dict[str, Any]]:
    rules = _values(sort) if sort else [{"@timestamp": "desc"}]
    for rule in reversed(rules):
        if isinstance(rule, str):
            name, order = rule, "asc"
        elif isinstance(rule, dict) and len(rule) == 1:
            name, spec = next(iter(rule.items()))
            order = spec.get("order", "asc") if isinstance(spec, dict) else str(spec)
        else:
            raise _invalid("sort entries are {field: asc|desc} objects")
        docs = sorted(docs, key=functools.partial(_sort_key, name=str(name)), reverse=order == "desc")
    return docs


def _aggregate(docs: list[dict[str, Any]], aggs: Any) -> dict[str, Any]:
    if not isinstance(aggs, dict):
        raise _invalid("aggs must be an object")
    result: dict[str, Any] = {}
    for name, spec in aggs.items():
        kinds = [k for k in spec if k != "aggs"] if isinstance(spec, dict) else []
        if len(kinds) != 1 or not isinstance(spec[kinds[0]], dict):
            raise _invalid(f"aggregation {name!r} needs exactly one type")
        kind, params = kinds[0], spec[kinds[0]]
        sub = spec.get("aggs")
        if kind == "filters":
            result[name] = {"buckets": _filters(docs, params, sub)}
            continue
        if kind == "filter":  # one bucket: the documents matching a query
            held = [d for d in docs if matches(d, params)]
            result[name] = {"doc_count": len(held), **(_aggregate(held, sub) if sub else {})}
            continue
        values = [v for d in docs for v in _values(_field(d, str(params.get("field"))) or [])]
        if kind == "terms":
            counts: dict[str, int] = {}
            for value in values:
                counts[str(value)] = counts.get(str(value), 0) + 1
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: int(params.get("size", 10))]
            field_name = str(params.get("field"))
            result[name] = {
                "buckets": [
                    {"key": k, "doc_count": c, **_sub(docs, sub, {"term": {field_name: k}})} for k, c in ordered
                ]
            }
        elif kind == "value_count":
            result[name] = {"value": len(values)}
        elif kind == "cardinality":
            result[name] = {"value": len({str(v) for v in values})}
        elif kind in ("min", "max"):
            result[name] = {"value": (min if kind == "min" else max)(values) if values else None}
        else:
            raise _invalid(f"aggregation [{kind}] is not supported by the sandbox")
    return result


def _sub(docs: list[dict[str, Any]], sub: Any, bucket: dict[str, Any]) -> dict[str, Any]:
    """A bucket's sub-aggregations, over the documents it holds (those matching ``bucket``)."""
    return _aggregate([d for d in docs if matches(d, bucket)], sub) if sub else {}


def _filters(docs: list[dict[str, Any]], params: dict[str, Any], sub: Any) -> dict[str, Any]:
    """Keyed ``filters`` buckets: each named query's document count and sub-aggregations."""
    named = params.get("filters")
    if not isinstance(named, dict):
        raise _invalid("[filters] takes {filters: {name: query}} (keyed buckets)")
    buckets: dict[str, Any] = {}
    for key, query in named.items():
        held = [d for d in docs if matches(d, query)]
        buckets[key] = {"doc_count": len(held), **(_aggregate(held, sub) if sub else {})}
    return buckets


def search_events(events: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    extra = set(body) - BODY_KEYS
    if extra:
        raise _invalid(f"must NOT have additional properties: {', '.join(sorted(extra))}")
    if not isinstance(body.get("query"), dict):
        raise _invalid("must have required property 'query'")
    try:
        limit = max(0, min(int(body.get("limit", 10)), 10000))
        page = max(0, int(body.get("page", 0)))
    except (TypeError, ValueError):
        raise _invalid("limit and page must be numbers") from None
    docs = [{**event, "@timestamp": event["createdAt"]} for event in events]
    docs = [d for d in docs if matches(d, body["query"])]
    aggs = _aggregate(docs, body["aggs"]) if body.get("aggs") else {}
    page_docs = _sorted(docs, body.get("sort"))[page * limit : (page + 1) * limit]
    if body.get("source"):
        page_docs = [_project(d, [str(f) for f in body["source"]]) for d in page_docs]
    return {"size": len(docs), "documents": page_docs, "aggs": aggs}


def _project(doc: dict[str, Any], names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        value = _field(doc, name)
        if value is None:
            continue
        target = out
        parts = name.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out
