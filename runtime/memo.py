"""Work done once per compiled definition (a form, a flow, a form table), not per write or step."""
from __future__ import annotations

from typing import Any, Callable

#: (id of the definition, the work) → (the definition, its answer); cleared when it grows large
_DONE: dict[tuple, tuple[object, Any]] = {}


def once(definition, work: Callable[[Any], Any]) -> Any:
    """``work(definition)``, worked out once per definition: a compiled definition is immutable (kept by
    identity: hashing one costs more than the answer)."""
    known = _DONE.get((id(definition), work))
    if known is not None and known[0] is definition:
        return known[1]
    answer = work(definition)
    if len(_DONE) > 512:
        _DONE.clear()
    _DONE[(id(definition), work)] = (definition, answer)
    return answer
