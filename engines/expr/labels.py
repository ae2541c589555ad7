"""Names, not keys: people type and read field *labels*; definitions store field *keys*.

``to_keys(source, fields)`` rewrites the labels in an expression to the stable keys of their
fields (what the builder stores when an expression is saved), so renaming a label later rewrites
nothing; ``to_labels(source, fields, lang)`` does the reverse for showing a stored expression.
``fields`` is an iterable of ``(key, label)`` where a label is text or a ``{"zh-CN": ..., "en":
...}`` map (every language's label is accepted when typing).

The rewrite works on the text outside string literals, so ``问题类型 == "问题类型"`` only maps
the name. A label may hold spaces (``Issue type == "x"``): the longest label that starts at a
name boundary wins. A name followed by ``(`` is a function call and stays; a name after ``.``
reads a linked record's or a sub-table's column and stays as typed.

A word that means two fields is refused (``ExprAmbiguousName``) with both fields named: two
fields labelled alike, or one field's label that is another field's key. A word that is a key is
that key's field (stored text stays stable when labels change).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from .compiler import CONSTANTS
from .errors import ExprError
from .functions import FUNCTIONS

__all__ = ["ExprAmbiguousName", "to_keys", "to_labels", "label_index", "source_position", "option_values"]


class ExprAmbiguousName(ExprError):
    """A label that names more than one field."""
    code = "expr.ambiguous_name"


def _ident(ch: str) -> bool:
    return ch.isalnum() or ch == "_" or "\u4e00" <= ch <= "\u9fff"


def _labels(label: Any) -> list[str]:
    if isinstance(label, Mapping):
        return [v.strip() for v in label.values() if isinstance(v, str) and v.strip()]
    return [label.strip()] if isinstance(label, str) and label.strip() else []


def label_index(fields: Iterable[tuple[str, Any]]) -> tuple[set[str], dict[str, list[tuple[str, str]]]]:
    """(keys, label → [(key, label text)]) of the fields in scope."""
    keys: set[str] = set()
    by_label: dict[str, list[tuple[str, str]]] = {}
    pairs = [(k, lab) for k, lab in fields if isinstance(k, str)]
    for key, _ in pairs:
        keys.add(key)
    for key, label in pairs:
        for text in _labels(label):
            if text == key:
                continue
            hits = by_label.setdefault(text, [])
            if all(k != key for k, _ in hits):
                hits.append((key, text))
    return keys, by_label


def _segments(source: str) -> list[tuple[bool, int, int]]:
    """(is_code, start, end) spans of ``source``: string literals are not code."""
    out: list[tuple[bool, int, int]] = []
    i, start, n = 0, 0, len(source)
    while i < n:
        ch = source[i]
        if ch in "\"'":
            if start < i:
                out.append((True, start, i))
            quote = source[i:i + 3] if source[i:i + 3] in ('"""', "'''") else ch
            j = i + len(quote)
            while j < n and not source.startswith(quote, j):
                j += 2 if source[j] == "\\" else 1
            j = min(j + len(quote), n)
            out.append((False, i, j))
            i = start = j
            continue
        i += 1
    if start < n:
        out.append((True, start, n))
    return out


def _calls(source: str, end: int) -> bool:
    """Whether a ``(`` follows position ``end`` (after blanks): the name is a function call."""
    rest = source[end:].lstrip(" \t")
    return rest.startswith("(")


def _word_end(text: str, i: int) -> int:
    while i < len(text) and _ident(text[i]):
        i += 1
    return i


def _rewrite_names(source: str, name: Callable[[str, int, int], tuple[str, int]]) -> str:
    """``source`` with each name in its code (outside string literals) that starts a word and does not
    follow a ``.`` rewritten: ``name(text, start, i)`` answers what to write for the name at ``i`` of
    the code span ``text`` (which begins at ``start`` of ``source``) and where to go on. The one walk of
    ``to_keys`` and ``to_labels``."""
    out: list[str] = []
    for is_code, start, end in _segments(source):
        text = source[start:end]
        if not is_code:
            out.append(text)
            continue
        i, piece = 0, []
        while i < len(text):
            if _ident(text[i]) and (i == 0 or (not _ident(text[i - 1]) and text[i - 1] != ".")):
                written, i = name(text, start, i)
                piece.append(written)
                continue
            piece.append(text[i])
            i += 1
        out.append("".join(piece))
    return "".join(out)


def to_keys(source: str, fields: Iterable[tuple[str, Any]]) -> str:
    """``source`` with every field label replaced by its field's key (see the module's rules)."""
    return _to_keys(source, fields)[0]


def source_position(source: str, fields: Iterable[tuple[str, Any]], position: int | None) -> int | None:
    """The 1-based character position in ``source`` (with labels) of ``position`` in ``to_keys(source)``,
    so an error of the stored text points at what the person typed."""
    if position is None:
        return None
    try:
        _, swaps = _to_keys(source, fields)
    except ExprError:
        return position
    shift = 0
    for at, typed, stored in swaps:  # (0-based start in source, typed length, stored length)
        if position - 1 < at + shift + stored:
            if position - 1 >= at + shift:
                return at + 1
            break
        shift += stored - typed
    return position - shift


def _to_keys(source: str, fields: Iterable[tuple[str, Any]]) -> tuple[str, list[tuple[int, int, int]]]:
    swaps: list[tuple[int, int, int]] = []
    if not isinstance(source, str) or not source.strip():
        return source, swaps
    keys, by_label = label_index(fields)
    if not by_label:
        return source, swaps
    ordered = sorted(by_label, key=len, reverse=True)

    def name(text: str, start: int, i: int) -> tuple[str, int]:
        hit = next((lab for lab in ordered if text.startswith(lab, i)
                    and (i + len(lab) == len(text) or not _ident(text[i + len(lab)]))), None)
        word_end = _word_end(text, i)
        word = text[i:word_end]
        if word in keys and (hit is None or len(hit) <= len(word)):
            _check_key_is_not_a_label(word, by_label, source, start + i)
            return word, word_end
        if hit is not None and not _calls(text, i + len(hit)):
            owners = by_label[hit]
            if len(owners) > 1:
                a, b = owners[0][0], owners[1][0]
                raise ExprAmbiguousName(
                    f"{hit!r} is the name of two fields ({a!r} and {b!r}); rename one of them so every "
                    "field has its own name", expression=source, position=start + i + 1, name=hit,
                    fields=[k for k, _ in owners])
            swaps.append((start + i, len(hit), len(owners[0][0])))
            return owners[0][0], i + len(hit)
        return word, word_end
    return _rewrite_names(source, name), swaps


def _check_key_is_not_a_label(word: str, by_label: dict, source: str, at: int) -> None:
    owners = by_label.get(word) or []
    others = [k for k, _ in owners if k != word]
    if others:
        raise ExprAmbiguousName(
            f"{word!r} is the name of field {others[0]!r} and the key of another field; rename field "
            f"{others[0]!r} so the two can be told apart", expression=source, position=at + 1, name=word,
            fields=[word, others[0]])


def to_labels(source: str, fields: Iterable[tuple[str, Any]], lang: str = "zh-CN") -> str:
    """``source`` with each field key shown as its label in ``lang``, where that label reads back
    as the same key (a label shared by two fields, or equal to a function's, a constant's or
    another field's key, shows the key)."""
    if not isinstance(source, str) or not source.strip():
        return source
    pairs = [(k, lab) for k, lab in fields if isinstance(k, str)]
    keys, by_label = label_index(pairs)
    shown: dict[str, str] = {}
    for key, label in pairs:
        text = _pick(label, lang)
        if not text or text == key or any(q in text for q in "\"'.()[]") or text in keys:
            continue
        if len(by_label.get(text, ())) != 1 or text in CONSTANTS or text in FUNCTIONS or text == "if":
            continue
        shown[key] = text
    if not shown:
        return source
    def name(text: str, start: int, i: int) -> tuple[str, int]:
        j = _word_end(text, i)
        word = text[i:j]
        return (shown[word] if word in shown and not _calls(text, j) else word), j
    result = _rewrite_names(source, name)
    try:  # shown only if it reads back exactly
        return result if to_keys(result, pairs) == source else source
    except ExprError:
        return source


def _pick(label: Any, lang: str) -> str:
    if isinstance(label, Mapping):
        value = label.get(lang) or label.get("zh-CN") or label.get("en") or ""
        return value.strip() if isinstance(value, str) else ""
    return label.strip() if isinstance(label, str) else ""


def option_values(source: str, options: Mapping[str, Iterable[tuple[Any, Any]]]) -> str:
    """``source`` (keys already, see ``to_keys``) with each text literal compared with a field that
    has options (``==``, ``!=``, ``in [..]``, ``not in [..]``) replaced by the option's stored value when
    the text is one option's label and no option's value: ``流程节点 == "处理中"`` is stored as
    ``process.node == "fix"``, so renaming the step later rewrites nothing. ``options`` maps a field
    key (``process.node``, or a field key) to its ``(value, label)`` pairs; the label is text or a
    language map (every language accepted). Anything else stays as typed."""
    import ast

    index: dict[str, tuple[set, dict[str, Any]]] = {}
    for key, pairs in options.items():
        values, by_label = set(), {}
        for value, label in pairs:
            values.add(value)
            for text in _labels(label):
                by_label.setdefault(text, []).append(value)
        index[key] = (values, {t: v[0] for t, v in by_label.items() if len(set(map(repr, v))) == 1})
    if not index or not isinstance(source, str):
        return source
    try:
        tree = ast.parse("(" + source + ")", mode="eval")
    except SyntaxError:
        return source
    lines = ("(" + source + ")").split("\n")
    starts, at = [], 0
    for line in lines:
        starts.append(at)
        at += len(line) + 1

    def offset(lineno: int, col: int) -> int:  # ast columns count UTF-8 bytes
        line = lines[lineno - 1]
        return starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", "ignore")) - 1

    def ref(node) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return f"{node.value.id}.{node.attr}"
        return None

    swaps: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for (a, b), op in zip(zip(operands, operands[1:]), node.ops):
            if not isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)):
                continue
            for name, other in ((ref(a), b), (ref(b), a)):
                if name not in index:
                    continue
                values, by_label = index[name]
                literals = other.elts if isinstance(other, (ast.List, ast.Tuple)) else [other]
                for lit in literals:
                    if isinstance(lit, ast.Constant) and isinstance(lit.value, str) and lit.value not in values \
                            and lit.value in by_label and isinstance(by_label[lit.value], str):
                        swaps.append((offset(lit.lineno, lit.col_offset), offset(lit.end_lineno, lit.end_col_offset),
                                      by_label[lit.value]))
    out = source
    for start, end, value in sorted(set(swaps), reverse=True):
        quote = out[start] if out[start] in "\"'" else '"'
        out = out[:start] + quote + value.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote + out[end:]
    return out
