"""CSV exports are safe to open in a spreadsheet: text that would run as a formula is shown as text."""

import ast
import csv
import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest

from members.models import Membership, User
from society.exports import formula_safe
from tests.factories import StaffFactory, TermFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("a=b", "a=b"),
        ("", ""),
        # Typed values the code writes stay numbers and dates for staff who sum or sort the column.
        (Decimal("-10.00"), Decimal("-10.00")),
        (-3, -3),
        (datetime.date(2026, 1, 1), datetime.date(2026, 1, 1)),
        (None, None),
    ],
)
def test_formula_safe_prefixes_only_text_a_spreadsheet_would_run(value, expected):
    assert formula_safe(value) == expected


@pytest.mark.django_db
def test_membership_export_escapes_member_controlled_text(client):
    client.force_login(StaffFactory(is_superuser=True))
    user = UserFactory(email="+cmd@example.org")
    # Names stored before validation existed (or imported) must still be exported harmlessly.
    User.objects.filter(pk=user.pk).update(full_name='=HYPERLINK("http://evil.example","Click")', orcid="@x")
    TermFactory(membership=Membership.objects.create(user=user))
    response = client.get("/admin/members/membership/export/")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["email", "full name"]
    email, name, *_, orcid = rows[1]
    assert (email, name, orcid) == ("'+cmd@example.org", '\'=HYPERLINK("http://evil.example","Click")', "'@x")


def test_every_csv_export_goes_through_the_shared_formula_safe_writer():
    """A new export that builds its own csv.writer would skip the escaping: only society/exports.py may."""
    offenders = []
    for app in ("members", "guidelines", "society"):
        for path in (ROOT / app).rglob("*.py"):
            if path == ROOT / "society/exports.py" or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                is_csv = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "csv"
                if is_csv and node.attr in {"writer", "DictWriter"}:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
