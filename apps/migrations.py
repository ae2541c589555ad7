"""Upgrade old app packages to the current format with pure dict → dict steps.

The package ``version`` is its *format* version. ``MIGRATIONS[n]`` turns a
version-n package into a version-(n+1) one without touching its input, so each
step is tested on its own and old exports keep importing forever
(SpiffWorkflow's version_migration habit).

Format history:
- 1: forms and fields had ``name`` where they now have ``label``; fields had
  ``type`` where they now have ``widget``; definitions carried no ``version``.
- 2: current.
"""
from __future__ import annotations

import copy
from typing import Callable

from .exceptions import PackageError

CURRENT_FORMAT_VERSION = 2

#: the lists of definitions in a package, in canonical order
DEFINITION_KINDS: tuple[str, ...] = ("roles", "groups", "forms", "flows", "rules", "reports",
                                     "dashboards", "templates", "calendars")


def _rename(item: dict, renames: dict[str, str]) -> dict:
    """A copy of ``item`` with keys renamed, unless the new key is already there."""
    return {(renames[k] if k in renames and renames[k] not in item else k): v for k, v in item.items()}


def _v1_field(field: dict) -> dict:
    out = _rename(field, {"name": "label", "type": "widget"})
    config = out.get("config")
    if isinstance(config, dict) and isinstance(config.get("fields"), list):
        out["config"] = {**config, "fields": [_v1_field(f) if isinstance(f, dict) else f for f in config["fields"]]}
    return out


def _v1_form(form: dict) -> dict:
    out = _rename(form, {"name": "label"})
    if isinstance(out.get("fields"), list):
        out["fields"] = [_v1_field(f) if isinstance(f, dict) else f for f in out["fields"]]
    return out


def v1_to_v2(data: dict) -> dict:
    """Rename ``name`` → ``label`` (forms, fields) and ``type`` → ``widget`` (fields);
    give every definition ``"version": 1``."""
    out = copy.deepcopy(data)
    if isinstance(out.get("forms"), list):
        out["forms"] = [_v1_form(f) if isinstance(f, dict) else f for f in out["forms"]]
    for kind in DEFINITION_KINDS:
        for item in out.get(kind) or []:
            if isinstance(item, dict):
                item.setdefault("version", 1)
    out["version"] = 2
    return out


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: v1_to_v2}


def migrate(data: dict) -> dict:
    """``data`` upgraded to ``CURRENT_FORMAT_VERSION``; the input is never changed
    (a current package is returned as is, an older one as a new dict).

    Raises ``PackageError`` for a missing, unknown or too-new format version.
    """
    version = data.get("version") if isinstance(data, dict) else None
    if type(version) is not int:
        raise PackageError.single("package.version_missing",
                                  "the package has no integer format 'version'; add \"version\": "
                                  f"{CURRENT_FORMAT_VERSION} at the top level", pointer="/version")
    if version > CURRENT_FORMAT_VERSION:
        raise PackageError.single("package.version_too_new",
                                  f"the package has format version {version} but this Jimu reads up to "
                                  f"{CURRENT_FORMAT_VERSION}; upgrade Jimu or export the app from the older version",
                                  pointer="/version", version=version, supported=CURRENT_FORMAT_VERSION)
    if version < min(MIGRATIONS, default=CURRENT_FORMAT_VERSION):
        raise PackageError.single("package.version_unknown",
                                  f"format version {version} was never released; use 1 to "
                                  f"{CURRENT_FORMAT_VERSION}", pointer="/version", version=version)
    for step in range(version, CURRENT_FORMAT_VERSION):
        data = MIGRATIONS[step](data)
    return data
