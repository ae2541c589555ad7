"""Texts inserted into a reply: records of other forms (knowledge articles, canned replies) found by
what was typed, offered only as the caller may read them (form verb, row scope, the source's own
list filter; a source whose title or text field is hidden from the caller offers nothing).

Two users: a text field's ``insert_from`` sources (the record form's picker, ``GET /api/v1/forms/
<form>/fields/<field>/snippets``) and a chat form's ``templates``/``articles`` (the chat console,
``runtime.chat``). A source is ``{"form", "title_field", "text_field", "filter"?}``."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from .auth import policy


def find(records, sources: Iterable[Mapping[str, Any]], q: str = "", limit: int = 20) -> list[dict]:
    """``[{"form", "id", "title", "text"}]`` of each source's records matching ``q`` (plus the source's
    ``kind`` when it names one), at most ``limit`` per source."""
    out = []
    for src in sources:
        form = src["form"]
        if form not in records.jimu.catalog or not policy.can(records.principal, "read", form):
            continue
        hidden = policy.hidden_fields(records.principal, form)
        if src["title_field"] in hidden or src["text_field"] in hidden:
            continue
        rows, _, _ = records.list(form, filters=src.get("filter") or None, q=q or None, per_page=limit)
        for r in rows:
            item = {"form": form, "id": r["id"], "title": str(r.get(src["title_field"]) or ""),
                    "text": plain(r.get(src["text_field"]))}
            out.append({"kind": src["kind"], **item} if src.get("kind") else item)
    return out


def plain(value: Any) -> str:
    """The text of a field value to insert into plain text (rich text loses its markup)."""
    if value is None:
        return ""
    text = str(value)
    if "<" in text:
        import html

        import nh3
        text = html.unescape(nh3.clean(text.replace("</p>", "</p>\n").replace("<br>", "\n"), tags=set()))
    return text.strip()
