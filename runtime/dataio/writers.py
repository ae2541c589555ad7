"""Writing rows out as CSV or XLSX, streamed: CSV one line at a time (UTF-8 with a BOM, so Excel shows
Chinese right), XLSX with openpyxl's ``write_only`` workbook into a temporary file that is then sent
in chunks and removed — memory stays flat whatever the number of rows.

A text cell starting with ``=``, ``+``, ``-`` or ``@`` is written as text, never as a formula (in XLSX
by its cell type, in CSV behind a leading apostrophe, as OWASP advises for CSV injection).
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from typing import Any, Iterable, Iterator

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CHUNK = 64 * 1024
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def stream(fmt: str, header: list[str], rows: Iterable[list[Any]], *, sheet: str = "Sheet1",
           validations: Iterable[tuple[int, list[str]]] = ()) -> Iterator[bytes]:
    return csv_stream(header, rows) if fmt == "csv" else xlsx_stream(header, rows, sheet=sheet,
                                                                      validations=validations)


def check_format(fmt: str) -> None:
    """A download's ``.<fmt>`` of the address: one of ``FORMATS``, else 404 ``export.bad_format``."""
    if fmt not in FORMATS:
        from ..exceptions import NotFound
        raise NotFound("download as .csv or .xlsx", code="export.bad_format", format=fmt)


def response(chunks: Iterator[bytes], fmt: str, filename: str):
    """A streamed download of ``chunks`` (a Flask response: the request stays open while it is sent)."""
    from urllib.parse import quote

    from flask import Response, stream_with_context
    return Response(stream_with_context(chunks), mimetype=FORMATS[fmt].split(";")[0],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


def csv_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    yield b"\xef\xbb\xbf"
    writer.writerow(header)
    n = 0
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
        n += 1
        if n % 200 == 0:
            yield buf.getvalue().encode("utf-8")
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode("utf-8")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _numeric(value):
        return "'" + value
    return "" if value is None else value


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def xlsx_stream(header: list[str], rows: Iterable[list[Any]], *, sheet: str = "Sheet1",
                validations: Iterable[tuple[int, list[str]]] = ()) -> Iterator[bytes]:
    """``validations``: (column index, allowed values) — a drop-down list on that column's cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet[:31] or "Sheet1")
    validations = dict(validations)
    if validations:
        # each column's allowed values down the same column of a sheet of their own (a list formula of
        # literal values is limited to 255 characters; a range is not)
        lists = wb.create_sheet(title="_options")
        width = max(validations) + 1
        for i in range(max(len(v) for v in validations.values())):
            lists.append([validations[c][i] if c in validations and i < len(validations[c]) else None
                          for c in range(width)])
        lists.sheet_state = "hidden"
        for col, values in validations.items():
            letter = get_column_letter(col + 1)
            dv = DataValidation(type="list", formula1=f"_options!${letter}$1:${letter}${max(len(values), 1)}",
                                allow_blank=True, showErrorMessage=True)
            dv.add(f"{letter}2:{letter}1048576")
            ws.data_validations.append(dv)  # write-only sheets keep the list, not the helper
    ws.append(header)
    for row in rows:
        ws.append([_xlsx_cell(ws, v, WriteOnlyCell) for v in row])
    fd, path = tempfile.mkstemp(suffix=".xlsx", prefix="jimu-")
    os.close(fd)
    try:
        wb.save(path)
        with open(path, "rb") as f:
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                yield chunk
    finally:
        os.unlink(path)


def _xlsx_cell(ws, value: Any, cell_class):
    if isinstance(value, str) and value.startswith("="):
        cell = cell_class(ws, value=value)
        cell.data_type = "s"
        return cell
    return value
