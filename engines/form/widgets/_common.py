"""Small helpers shared by the built-in widgets (schemas, options, numbers)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Mapping

LABEL_SCHEMA = {
    "description": "A plain string or a {\"zh-CN\": ..., \"en\": ...} map.",
    "oneOf": [{"type": "string"},
              {"type": "object", "additionalProperties": {"type": "string"},
               "properties": {"zh-CN": {"type": "string"}, "en": {"type": "string"}}}],
}


def config_schema(properties: Mapping[str, Any], *, required: list[str] | None = None,
                  examples: list[dict] | None = None, description: str = "") -> dict:
    """A draft 2020-12 config schema; keys starting with ``x-`` stay free for extensions."""
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "description": description,
        "properties": dict(properties),
        "patternProperties": {"^x-": {"description": "Extension data, kept as is."}},
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    if examples:
        schema["examples"] = examples
    return schema


def to_decimal(raw: Any) -> Decimal | None:
    """A finite Decimal from an int, float, Decimal or text (``1,234.5``); None when not a number."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, Decimal):
        d = raw
    elif isinstance(raw, int):
        return Decimal(raw)
    elif isinstance(raw, float):
        d = Decimal(repr(raw))
    elif isinstance(raw, str):
        text = raw.strip().replace(",", "").replace("，", "").replace(" ", "")
        if not text or len(text) > 100:
            return None
        try:
            d = Decimal(text)
        except InvalidOperation:
            return None
    else:
        return None
    return d if d.is_finite() else None


def quantize(d: Decimal, places: int) -> Decimal:
    return d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def normalize_options(options: Any) -> list[dict]:
    """Options as ``[{"value": str, "label": str | {zh-CN, en}}]`` (plain strings are allowed)."""
    out = []
    for opt in options or []:
        if isinstance(opt, Mapping):
            value = str(opt.get("value"))
            out.append({"value": value, "label": opt.get("label") or value})
        else:
            out.append({"value": str(opt), "label": str(opt)})
    return out


OPTIONS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "description": "The choices, in display order. A plain string is both value and label.",
    "items": {
        "oneOf": [
            {"type": "string", "minLength": 1},
            {"type": "object", "required": ["value"], "additionalProperties": False,
             "properties": {"value": {"type": "string", "minLength": 1, "description": "Stored value."},
                            "label": {**LABEL_SCHEMA, "description": "Shown label (zh-CN/en)."},
                            "color": {"type": "string", "description": "Tag colour, e.g. #d33."}}},
        ],
    },
}
