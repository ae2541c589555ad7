"""Reading a spreadsheet row by row: CSV (UTF-8, with or without BOM, or GB18030 as Excel saves it in
China) and XLSX (openpyxl ``read_only``), never the whole file in memory.

``open_table(path, kind)`` returns a ``Table``: ``header`` (the first non-empty row, as text) and
``rows(start)`` yielding ``(position, line, cells)``: ``line`` is the spreadsheet's 1-based row number
(what a user looks for), ``position`` where the *next* row starts (a byte offset for CSV, a row
number for XLSX) so a later job resumes with ``rows(position)``.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Iterator

from engines.errors import JimuError

KINDS = ("csv", "xlsx")
#: how much of a CSV file decides its encoding and delimiter
SNIFF = 64 * 1024


class UnreadableFile(JimuError):
    code = "import.unreadable"
    status = 400


def kind_of(filename: str) -> str:
    """``csv`` or ``xlsx`` from a file name; anything else is refused with the fix."""
    suffix = Path(filename or "").suffix.lower().lstrip(".")
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("csv", "txt"):
        return "csv"
    raise UnreadableFile("import an .xlsx or .csv file (save other spreadsheets as one of these first)",
                         code="import.file_type", name=filename)


@dataclass
class Table:
    path: Path
    kind: str
    header: list[str]
    #: where the first data row starts
    start: Any
    encoding: str = "utf-8"
    delimiter: str = ","
    #: where the data ends, in the unit of positions (a CSV's size, a sheet's last row): progress
    extent: int = 0

    def rows(self, start: Any = None) -> Iterator[tuple[Any, int, list]]:
        start = self.start if start is None else start
        if self.kind == "csv":
            return _csv_rows(self, start)
        return _xlsx_rows(self, start)


def open_table(path: str | Path, kind: str) -> Table:
    path = Path(path)
    if kind == "csv":
        return _open_csv(path)
    if kind == "xlsx":
        return _open_xlsx(path)
    raise UnreadableFile("import an .xlsx or .csv file", code="import.file_type")


# -- CSV ---------------------------------------------------------------------------------------------
def _open_csv(path: Path) -> Table:
    with open(path, "rb") as f:
        head = f.read(SNIFF)
    encoding = _encoding(head)
    sample = head.decode(encoding, errors="ignore")
    first = sample.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    table = Table(path, "csv", [], [3 if encoding == "utf-8-sig" else 0, 0], encoding, delimiter,
                  path.stat().st_size)
    for position, line, cells in _csv_rows(table, table.start):
        table.header = [_text(c) for c in cells]
        table.start = position
        return table
    raise UnreadableFile("the file is empty: put the field names in the first row and records below",
                         code="import.empty")


def _encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut by the sample's end
            return "utf-8"
    return "gb18030"


def _csv_rows(table: Table, start) -> Iterator[tuple[list, int, list]]:
    """Positions are ``[byte offset, line number]`` of where the next row starts."""
    offset, line = start if isinstance(start, (list, tuple)) else (start, 0)
    encoding = "utf-8" if table.encoding == "utf-8-sig" else table.encoding
    with open(table.path, "rb") as f:
        f.seek(offset)
        pos = [offset]

        def lines():
            for raw in f:
                pos[0] += len(raw)
                yield raw.decode(encoding, errors="replace")
        reader = csv.reader(lines(), delimiter=table.delimiter)
        for cells in reader:
            line += 1   # the record's number; a quoted cell spanning lines still counts as one row
            if not "".join(cells).strip():   # blank cells only (joined: one strip, not one per cell)
                continue
            yield [pos[0], line], line, cells


# -- XLSX --------------------------------------------------------------------------------------------
def _open_xlsx(path: Path) -> Table:
    for position, line, cells in _xlsx_rows(Table(path, "xlsx", [], 0), 0):
        header = [_text(c) for c in cells]
        while header and not header[-1]:
            header.pop()
        return Table(path, "xlsx", header, position, extent=_last_row(path))
    raise UnreadableFile("the first sheet is empty: put the field names in the first row and records below",
                         code="import.empty")


def _xlsx_rows(table: Table, start: int) -> Iterator[tuple[int, int, list]]:
    import zipfile

    from openpyxl import load_workbook
    stream = open(table.path, "rb")  # a file object: stored uploads have no .xlsx suffix
    try:
        wb = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        stream.close()
        raise UnreadableFile(f"this is not an .xlsx workbook Excel or WPS can open ({exc}); save it again as .xlsx",
                             code="import.unreadable") from None
    try:
        ws = wb.worksheets[0]
        for line, cells in enumerate(ws.iter_rows(min_row=start + 1, values_only=True), start + 1):
            if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
                continue
            yield line, line, list(cells)
    finally:
        wb.close()
        stream.close()


def _last_row(path: Path) -> int:
    from openpyxl import load_workbook
    with open(path, "rb") as stream:
        wb = load_workbook(stream, read_only=True)
        try:
            return wb.worksheets[0].max_row or 0
        finally:
            wb.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value).strip()


def cell_text(value: Any) -> str:
    """A cell as the text a user typed (for previews and the rejected-rows file)."""
    return _text(value)
