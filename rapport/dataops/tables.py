"""Reading spreadsheets people bring: CSV in any common encoding and XLSX, as rows of text.

- CSV: a byte-order mark says UTF-8 or UTF-16; otherwise UTF-8 if the file decodes as UTF-8,
  else GB18030 (which contains GBK and GB2312) if it decodes as that; anything else is
  refused by name. The delimiter (comma, semicolon, tab, bar) is sniffed from the start.
- XLSX: the first sheet (or a named one), read-only and streamed; numbers that are whole
  come out without ".0" (phone numbers typed as numbers), dates as 2024-03-05.

Rows are lists of stripped strings; the first non-empty row is the header. Files over
`MAX_COLUMNS` columns are refused naming the row.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePath
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_COLUMNS = 200
SAMPLE = 1 << 20  # bytes read to decide the encoding and delimiter


@dataclass
class Table:
    headers: list[str]
    encoding: str
    kind: str  # "csv" | "xlsx"
    # rows() -> (row number in the file, cells) for every non-empty row after the header
    rows: Callable[[], Iterator[tuple[int, list[str]]]]


def _error(message: str, code: str) -> ValidationError:
    return ValidationError({"file": ValidationError(message, code=code)})


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            # a multi-byte character may be cut at the end of the sample
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    raise _error(
        _(
            "The file's encoding is not one we can read (UTF-8, UTF-16, GB18030/GBK); save it as UTF-8 CSV or XLSX."
        ),
        "encoding",
    )


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat()
            if value.time() == datetime.min.time()
            else value.isoformat(sep=" ")
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_width(number: int, row: list[str]) -> None:
    if len(row) > MAX_COLUMNS:
        raise _error(
            _("Row %(row)d has %(n)d columns; at most %(max)d are read.")
            % {"row": number, "n": len(row), "max": MAX_COLUMNS},
            "columns",
        )


def open_table(stream: IO[bytes], file_name: str, *, sheet: str = "") -> Table:
    """The table in `stream` (rewindable); raises ValidationError({"file": …}) when unreadable."""
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx(stream, sheet)
    if suffix in (".csv", ".txt", ".tsv", ""):
        return _csv(stream)
    raise _error(
        _("“%(suffix)s” files cannot be imported; use CSV or XLSX.") % {"suffix": suffix},
        "file_type",
    )


def _csv(stream: IO[bytes]) -> Table:
    stream.seek(0)
    sample = stream.read(SAMPLE)
    encoding = detect_encoding(sample)
    text_sample = sample.decode(encoding, errors="ignore")
    try:
        dialect = csv.Sniffer().sniff(
            text_sample.split("\n", 20)[0] if text_sample else ",", ",;\t|"
        )
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","

    def rows() -> Iterator[tuple[int, list[str]]]:
        stream.seek(0)
        text = io.TextIOWrapper(stream, encoding=encoding, newline="", errors="strict")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            for number, row in enumerate(reader, start=1):
                _check_width(number, row)
                yield number, [cell.strip() for cell in row]
        except UnicodeDecodeError as error:
            raise _error(
                _("The file is not all in one encoding (%(encoding)s): %(error)s")
                % {"encoding": encoding, "error": error.reason},
                "encoding",
            ) from None
        finally:
            text.detach()  # the caller's stream stays open

    return _with_header(rows, encoding, "csv")


def _xlsx(stream: IO[bytes], sheet: str) -> Table:
    from openpyxl import load_workbook

    try:
        stream.seek(0)
        book = load_workbook(stream, read_only=True, data_only=True)
    except Exception as error:  # a damaged or disguised file
        raise _error(
            _("The file cannot be opened as an Excel workbook: %(error)s") % {"error": error},
            "xlsx",
        ) from None
    if sheet and sheet not in book.sheetnames:
        raise _error(
            _("The workbook has no sheet “%(sheet)s”; it has: %(sheets)s.")
            % {"sheet": sheet, "sheets": ", ".join(book.sheetnames)},
            "sheet",
        )
    worksheet = book[sheet] if sheet else book.worksheets[0]

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
            cells = [_cell(value) for value in row]
            while cells and cells[-1] == "":
                cells.pop()
            _check_width(number, cells)
            yield number, cells

    return _with_header(rows, "xlsx", "xlsx")


def _with_header(rows, encoding: str, kind: str) -> Table:
    headers: list[str] = []
    header_row = 0
    for number, row in rows():
        if any(row):
            headers, header_row = row, number
            break
    if not headers:
        raise _error(_("The file has no header row."), "empty")

    def data_rows() -> Iterator[tuple[int, list[str]]]:
        for number, row in rows():
            if number <= header_row or not any(row):
                continue
            yield number, row

    return Table(headers=headers, encoding=encoding, kind=kind, rows=data_rows)
