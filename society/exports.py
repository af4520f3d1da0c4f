"""CSV downloads, one way for every export of every app: streamed, and safe to open in a spreadsheet."""

import csv
from collections.abc import Iterable, Sequence

from django.http import StreamingHttpResponse

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets
# (OWASP "CSV Injection"): a member named "=HYPERLINK(...)" would become a link in staff's spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value):
    """Text that a spreadsheet would run as a formula, prefixed with a single quote so it is shown as text.

    Only strings are escaped. Numbers, dates and Decimals are typed values the code itself writes (a refund of
    -10.00 is a negative number, not a formula) and must stay numbers for staff who sum the column; every
    user-controlled value (names, emails, ORCID iDs, references) reaches the CSV as a string and is escaped.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value):
        return value


def csv_response(*, header: Sequence[str], rows: Iterable[Sequence], filename: str) -> StreamingHttpResponse:
    """Stream `rows` (an iterator, e.g. a server-side cursor) as a CSV attachment, every cell formula-safe."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([formula_safe(cell) for cell in header])
        for row in rows:
            yield writer.writerow([formula_safe(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
