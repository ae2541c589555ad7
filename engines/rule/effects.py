"""Effects: what a matched rule asks the runtime to do (functional core, imperative shell).

Actions never touch a database or the network; they return ``Effect`` values.
The runtime executes data effects in the writing transaction and external ones
through the durable outbox; a dry run just lists them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: effects that leave the process: they go to the outbox, never run inline
EXTERNAL = frozenset({"send_email", "send_webhook", "send_sms", "send_message", "call_http"})


@dataclass(frozen=True)
class Effect:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def external(self) -> bool:
        return self.kind in EXTERNAL

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "external": self.external, **self.data}
