"""File widgets: attachments and images.

The value is a list of file references ``{"id", "name", "size", "type"}``
kept as JSON in one column. Files themselves are saved by the runtime
(``runtime/files.py: save``) under generated names before the record is
cleaned: a reference's ``id`` is that generated name, never a user path.
The runtime also checks that a referenced id exists in ``jimu_files``; the
widget (pure, no database) checks shape, count, size and type.
"""
from __future__ import annotations

import fnmatch
import json
import random
import re
from typing import Any, Mapping

import sqlalchemy as sa

from ..widget import Widget
from ._common import config_schema

FILE_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_NAME = 300


class PendingUpload(dict):
    """A file posted with an HTML form and not saved yet: ``{"upload": <FileStorage>}``.

    ``value_from_formdata`` returns these; the runtime saves them and puts the
    returned reference in their place. ``clean`` refuses any left unsaved.
    """


class AttachmentWidget(Widget):
    type = "attachment"
    label = {"zh-CN": "附件", "en": "Attachment"}
    icon = "paperclip"
    group = "file"
    value_kind = "file"
    macro = "attachment"
    accepts_files = True
    DEFAULT_MAX_SIZE = 20 * 1024 * 1024
    config_schema = config_schema({
        "max_files": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10,
                      "description": "Most files in the field."},
        "max_size": {"type": "integer", "minimum": 1, "default": DEFAULT_MAX_SIZE,
                     "description": "Largest file in bytes."},
        "accept": {"type": "array", "items": {"type": "string", "minLength": 1},
                   "description": "Allowed types: MIME types (application/pdf, image/*) or extensions (.pdf)."},
    }, examples=[{"max_files": 5, "max_size": 10485760, "accept": [".pdf", "image/*", "text/plain"]}],
        description="Uploaded files.")

    def sa_type(self):
        return sa.JSON()

    @property
    def max_files(self) -> int:
        return int(self.config.get("max_files", 10))

    @property
    def max_size(self) -> int:
        return int(self.config.get("max_size", self.DEFAULT_MAX_SIZE))

    @property
    def accept(self) -> list[str]:
        return list(self.config.get("accept") or [])

    def type_allowed(self, name: str, content_type: str | None) -> bool:
        patterns = self.accept
        if not patterns:
            return True
        lower, ctype = name.lower(), (content_type or "").lower()
        for p in patterns:
            p = p.lower()
            if p.startswith("."):
                if lower.endswith(p):
                    return True
            elif fnmatch.fnmatchcase(ctype, p):
                return True
        return False

    def check_upload(self, name: str, content_type: str | None, size: int | None) -> None:
        """Refuse a file before or after saving it: type from ``accept``, size from ``max_size``."""
        if not self.type_allowed(name or "", content_type):
            raise self.error("form.file_type", f"this file type is not allowed ({', '.join(self.accept)}) / "
                                               f"不允许的文件类型", accept=self.accept, name=name)
        if size is not None and size > self.max_size:
            raise self.error("form.file_too_large", f"files may be at most {self.max_size} bytes / "
                                                    f"文件不能超过 {self.max_size} 字节", max_size=self.max_size,
                             name=name)

    def _ref(self, raw: Any) -> dict:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = None
        if isinstance(raw, PendingUpload) or isinstance(raw, Mapping) and "upload" in raw:
            raise self.error("form.upload_not_saved", "the upload was not saved; send it again / 文件未保存，请重新上传")
        if not isinstance(raw, Mapping):
            raise self.error("form.invalid_file", "send files as {id, name, size, type} references / 文件引用格式错误")
        fid, name, size, ctype = raw.get("id"), raw.get("name"), raw.get("size"), raw.get("type")
        if (not isinstance(fid, str) or not FILE_ID.match(fid) or not isinstance(name, str) or not name.strip()
                or len(name) > MAX_NAME or "/" in name or "\\" in name
                or not _whole(size) or size < 0
                or not (ctype is None or isinstance(ctype, str) and len(ctype) <= 200)):
            raise self.error("form.invalid_file", "send files as {id, name, size, type} references / 文件引用格式错误")
        return {"id": fid, "name": name.strip(), "size": int(size), "type": ctype or "application/octet-stream"}

    def to_python(self, raw):
        if raw is None or raw == "" or raw == []:
            return []
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise self.error("form.invalid_file", "send files as a list of references / 文件引用格式错误") from None
        items = raw if isinstance(raw, list) else [raw]
        out, seen = [], set()
        for item in items:
            ref = self._ref(item)
            if ref["id"] not in seen:
                seen.add(ref["id"])
                out.append(ref)
        return out

    def validate(self, value):
        if len(value) > self.max_files:
            raise self.error("form.too_many_files", f"at most {self.max_files} files / 最多 {self.max_files} 个文件",
                             max_files=self.max_files)
        for ref in value:
            self.check_upload(ref["name"], ref["type"], ref["size"])

    def value_from_formdata(self, formdata, files, key):
        """Kept files come back as hidden inputs holding their JSON reference; new ones as uploads."""
        getlist = getattr(formdata, "getlist", None)
        kept = [v for v in (getlist(key) if getlist else [formdata.get(key)]) if v]
        refs: list[Any] = []
        for v in kept:
            try:
                refs.append(json.loads(v))
            except ValueError:
                refs.append(v)
        if files is not None:
            flist = files.getlist(key) if hasattr(files, "getlist") else [files.get(key)]
            refs.extend(PendingUpload(upload=fs) for fs in flist if fs is not None and getattr(fs, "filename", ""))
        return refs or None

    def input_value(self, value):
        return ""

    def json_schema(self):
        return {"type": "array", "maxItems": self.max_files,
                "items": {"type": "object", "required": ["id", "name", "size"],
                          "properties": {"id": {"type": "string", "pattern": FILE_ID.pattern},
                                         # stripped, it is not blank; no folder separators
                                         "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME,
                                                  "pattern": r"^[^/\\]*[^\s\x1c-\x1f\x85/\\][^/\\]*$"},
                                         "size": {"type": "integer", "minimum": 0, "maximum": self.max_size},
                                         "type": {"type": ["string", "null"], "maxLength": 200}}}}

    def _random_name(self, rng: random.Random) -> tuple[str, str]:
        choices = [("报告.pdf", "application/pdf"), ("notes.txt", "text/plain"), ("photo.png", "image/png"),
                   ("scan.jpg", "image/jpeg")]
        ok = [c for c in choices if self.type_allowed(*c)] or choices[:1]
        return rng.choice(ok)

    def random_value(self, rng: random.Random):
        out = []
        for _ in range(rng.randint(1, min(3, self.max_files))):
            name, ctype = self._random_name(rng)
            out.append({"id": "%032x" % rng.getrandbits(128), "name": name,
                        "size": rng.randint(1, min(self.max_size, 10 ** 6)), "type": ctype})
        return out


def _whole(size: Any) -> bool:
    """A byte count: an int, or a float with no fraction (JSON Schema's integer takes 12.0 too)."""
    if isinstance(size, float):
        return size.is_integer()
    return isinstance(size, int) and not isinstance(size, bool)


class ImageWidget(AttachmentWidget):
    """Images only (``image/*`` unless ``accept`` narrows it)."""

    type = "image"
    label = {"zh-CN": "图片", "en": "Image"}
    icon = "image"
    macro = "image"
    config_schema = config_schema({
        **AttachmentWidget.config_schema["properties"],
        "accept": {"type": "array", "items": {"type": "string", "pattern": r"^(image/|\.)"},
                   "description": "Allowed image types (image/png, .jpg); default image/*."},
    }, examples=[{"max_files": 3, "max_size": 5242880, "accept": ["image/png", "image/jpeg"]}],
        description="Uploaded images.")

    @property
    def accept(self) -> list[str]:
        return list(self.config.get("accept") or ["image/*"])
