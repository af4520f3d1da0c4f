"""Tables staff download: CSV streamed row by row, and xlsx workbooks of several sheets.

Every text cell is made formula-safe: a spreadsheet would run a cell that starts with =, +, -, @, a tab or
a carriage return (OWASP "CSV injection"), and names, references and notes come from members and staff."""

import csv
import datetime
import io
from collections.abc import Iterable
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell_safe(value):
    """Text that a spreadsheet would read as a formula gets a leading apostrophe; numbers and dates are
    written by the code itself and stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value):
        return value


def csv_response(*, filename: str, headers: list, rows: Iterable[Iterable]) -> StreamingHttpResponse:
    """Stream rows as they come (a server-side cursor never sits in memory whole)."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([str(header) for header in headers])
        for row in rows:
            yield writer.writerow([cell_safe(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_response(*, filename: str, sheets: dict[str, tuple[list, list[list]]]) -> HttpResponse:
    """One sheet per table, headers bold-free and frozen, amounts as numbers with two decimals."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, (headers, rows) in sheets.items():
        sheet = workbook.create_sheet(title=str(title)[:31])
        sheet.append([str(header) for header in headers])
        sheet.freeze_panes = "A2"
        for row in rows:
            sheet.append([_xlsx_value(value) for value in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, float):
                    cell.number_format = "#,##0.00"
                elif isinstance(cell.value, datetime.date):
                    cell.number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _xlsx_value(value):
    if isinstance(value, Decimal):
        return float(value)  # xlsx stores numbers as doubles; two decimals are exact enough to display
    return cell_safe(value)
