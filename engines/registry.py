"""One registry class for every extension point.

Widgets, flow node types, rule actions, rule operators, chart types and
expression functions each have one ``Registry``. Items are classes with a
unique ``type`` attribute. Built-ins and third-party plugins register the same
way: through an entry-point group in setup.cfg (``jimu.widgets`` ...), loaded
once, on first use. Registering a type twice is an error; ``get`` of an unknown
type raises ``<Kind>DoesNotExist`` and never returns None. A plugin that fails
to import is logged and skipped, so one broken plugin cannot take the platform
down (Redash/Superset habit).
"""
from __future__ import annotations

import logging
import threading
from importlib.metadata import entry_points
from typing import Callable, Generic, Iterator, TypeVar

from .errors import JimuError

log = logging.getLogger(__name__)
T = TypeVar("T")


class RegistryError(JimuError):
    code = "registry.error"


class DoesNotExist(RegistryError):
    code = "registry.unknown_type"


class AlreadyRegistered(RegistryError):
    code = "registry.duplicate_type"


class Registry(Generic[T]):
    """A named set of item classes keyed by their ``type``.

    ``kind`` names the extension point in errors (``widget``), ``group`` is the
    entry-point group to load from (None for registries filled in code only),
    ``check`` validates an item at registration time, not at call time.
    """

    def __init__(self, kind: str, group: str | None = None,
                 check: Callable[[type], None] | None = None):
        self.kind = kind
        self.group = group
        self._check = check
        self._items: dict[str, type[T]] = {}
        self._loaded = group is None
        self._lock = threading.RLock()
        self.does_not_exist = type(f"{kind.title().replace('_', '')}DoesNotExist", (DoesNotExist,),
                                   {"code": f"{kind}.unknown_type"})
        self.broken: dict[str, str] = {}

    def register(self, item: type[T], *, replace: bool = False) -> type[T]:
        type_name = getattr(item, "type", None)
        if not isinstance(type_name, str) or not type_name:
            raise RegistryError(f"{self.kind} {item!r} has no 'type' name", code=f"{self.kind}.no_type")
        if self._check is not None:
            self._check(item)
        with self._lock:
            if type_name in self._items and self._items[type_name] is not item and not replace:
                raise AlreadyRegistered(f"{self.kind} type {type_name!r} is already registered",
                                        code=f"{self.kind}.duplicate_type", type=type_name)
            self._items[type_name] = item
        return item

    def unregister(self, type_name: str) -> None:
        with self._lock:
            self._items.pop(type_name, None)

    def load(self) -> None:
        """Load the entry-point group once. Safe to call many times."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            for ep in entry_points(group=self.group):
                try:
                    item = ep.load()
                    if getattr(item, "type", None) is None:
                        item.type = ep.name
                    if item.type in self._items and self._items[item.type] is item:
                        continue
                    self.register(item)
                except Exception as exc:  # a broken plugin is logged and skipped
                    self.broken[ep.name] = f"{type(exc).__name__}: {exc}"
                    log.warning("skipping %s plugin %s: %s", self.kind, ep.name, exc)
            self._loaded = True

    def get(self, type_name: str) -> type[T]:
        self.load()
        try:
            return self._items[type_name]
        except (KeyError, TypeError):
            raise self.does_not_exist(f"unknown {self.kind} type {type_name!r}",
                                      type=type_name if isinstance(type_name, str) else repr(type_name)) from None

    def __contains__(self, type_name: object) -> bool:
        self.load()
        return isinstance(type_name, str) and type_name in self._items

    def __iter__(self) -> Iterator[type[T]]:
        self.load()
        return iter(list(self._items.values()))

    def types(self) -> list[str]:
        self.load()
        return sorted(self._items)

    def __len__(self) -> int:
        self.load()
        return len(self._items)
