import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from members.models import MemberImport, Membership, Term, User
from tests.factories import StaffFactory, UserFactory, price_matrix

pytestmark = pytest.mark.django_db

HEADER = "email,full name,country,institution,type,term end date,ORCID\n"
GOOD = (
    "ana@example.org,Ana Souza,BR,USP,Full,2027-03-31,0000-0002-1825-0097\n"
    "kenji@example.org,Kenji Sato,Japan,Kyoto University,student,2026-12-31,\n"
    "amara@example.org,Amara Okafor,Nigeria,University of Lagos,Full,2027-06-30,\n"
)
BAD = (
    "not-an-email,Bad Email,DE,X,Full,2027-01-01,\n"  # line 5
    "zed@example.org,Zed,Atlantis,X,Full,2027-01-01,\n"  # line 6
    "yan@example.org,Yan,CN,X,Platinum,31/12/2027,\n"  # line 7
    "ana@example.org,Ana Again,BR,USP,Full,2027-03-31,\n"  # line 8: duplicate email
    "orc@example.org,Orc,DE,X,Full,2027-01-01,0000-0002-1825-0098\n"  # line 9: bad check digit
)


@pytest.fixture
def types(db):
    return price_matrix("Student", "Full")


@pytest.fixture
def csv_file(tmp_path):
    def write(text):
        path = tmp_path / "members.csv"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_mixed_good_and_bad_rows_write_nothing_and_report_each_bad_line(types, csv_file, capsys):
    users_before = User.objects.count()
    with pytest.raises(CommandError, match="5 of 8 rows are invalid"):
        call_command("import_members", str(csv_file(HEADER + GOOD + BAD)))
    report = capsys.readouterr().err
    assert "line 5: invalid email 'not-an-email'" in report
    assert "line 6: unknown country 'Atlantis'" in report
    assert "line 7: unknown membership type 'Platinum'" in report
    assert "is not a date like 2026-12-31" in report
    assert "line 8: ana@example.org appears twice in the file (first on line 2)" in report
    assert "line 9: ORCID" in report
    assert User.objects.count() == users_before
    assert not Membership.objects.exists()


def test_good_file_imports_and_reimport_is_a_no_op(types, csv_file, capsys):
    path = csv_file(HEADER + GOOD)
    call_command("import_members", str(path), "--dry-run")
    assert "All 3 rows are valid" in capsys.readouterr().out
    assert not Membership.objects.exists()

    call_command("import_members", str(path))
    assert "3 new members, 3 new terms" in capsys.readouterr().out
    kenji = User.objects.get(email="kenji@example.org")
    assert (kenji.country.code, kenji.has_usable_password()) == ("JP", False)
    term = Term.objects.get(membership__user=kenji)
    assert (term.start, term.end, term.membership_type.slug) == (
        datetime.date(2026, 1, 1),
        datetime.date(2026, 12, 31),
        "student",
    )
    snapshot = list(Term.objects.order_by("pk").values_list("membership__user__email", "start", "end"))

    call_command("import_members", str(path))
    assert "0 new members, 0 new terms" in capsys.readouterr().out
    assert list(Term.objects.order_by("pk").values_list("membership__user__email", "start", "end")) == snapshot


def test_existing_member_is_matched_by_email_and_keeps_their_profile(types, csv_file, capsys):
    UserFactory(email="Ana@Example.org", full_name="Ana Maria Souza", country="PT")
    call_command("import_members", str(csv_file(HEADER + GOOD)))
    ana = User.objects.get(email__iexact="ana@example.org")
    assert (ana.full_name, ana.country.code) == ("Ana Maria Souza", "PT")
    assert ana.membership.terms.get().end == datetime.date(2027, 3, 31)


def test_admin_upload_checks_in_steps_and_then_imports(client, types, monkeypatch):
    monkeypatch.setattr("members.services.imports.IMPORT_CHUNK", 3)
    client.force_login(StaffFactory(is_superuser=True))
    rows = "".join(f"m{n}@example.org,Member {n},DE,X,Full,2027-01-{n % 28 + 1:02d},\n" for n in range(7))
    upload = SimpleUploadedFile("members.csv", (HEADER + rows).encode())
    response = client.post("/admin/members/membership/import/", {"file": upload})
    job = MemberImport.objects.get()
    assert response["Location"] == f"/admin/members/membership/import/{job.pk}/"
    pages = [client.get(response["Location"]).content.decode() for _ in range(4)]
    assert 'http-equiv="refresh"' in pages[0]
    assert 'value="3"' in pages[0]
    assert "7 rows imported: 7 new members, 7 new terms." in pages[3]
    assert 'http-equiv="refresh"' not in pages[3]
    assert Term.objects.count() == 7


def test_admin_upload_with_a_bad_row_imports_nothing(client, types):
    client.force_login(StaffFactory(is_superuser=True))
    upload = SimpleUploadedFile("members.csv", (HEADER + GOOD + BAD).encode())
    response = client.post("/admin/members/membership/import/", {"file": upload}, follow=True)
    page = response.content.decode()
    assert "5 invalid rows: nothing was imported" in page
    assert "unknown country" in page
    assert not Membership.objects.exists()
