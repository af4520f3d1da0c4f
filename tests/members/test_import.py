import datetime

import pytest
from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from members.models import ImportStatus, MemberImport, Membership, Term, User
from members.services.imports import ImportRowsInvalid, import_apply, import_read, import_validate
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


# --- The dry run predicts the real run ----------------------------------------------------------------------

TAKEN_ORCID = "0000-0001-0000-0009"
LONG_EMAIL = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".org"  # valid form, 257 characters
# Each file: good rows, then bad rows, and the lines (header = line 1) a dry run must list.
BAD_FILES = {
    "the same ORCID twice": (
        GOOD + "bo@example.org,Bo,DE,X,Full,2027-01-01,https://orcid.org/0000-0002-1825-0097\n",
        {5},
    ),
    "the same email twice, in another case": (GOOD + "ANA@EXAMPLE.ORG,Ana,BR,USP,Full,2027-03-31,\n", {5}),
    "an ORCID of another account": (GOOD + f"cy@example.org,Cy,DE,X,Full,2027-01-01,{TAKEN_ORCID}\n", {5}),
    "an email address of another account": (GOOD + "second@example.org,Di,DE,X,Full,2027-01-01,\n", {5}),
    "values longer than their columns": (
        GOOD
        + f"ed@example.org,{'E' * 201},DE,X,Full,2027-01-01,\n"
        + f"fi@example.org,Fi,DE,{'I' * 256},Full,2027-01-01,\n"
        + f"{LONG_EMAIL},Gu,DE,X,Full,2027-01-01,\n",
        {5, 6, 7},
    ),
    "names the sign-up form refuses": (
        GOOD
        + 'ha@example.org,"<script>alert(1)</script>",DE,X,Full,2027-01-01,\n'
        + "io@example.org,Io\x07,DE,X,Full,2027-01-01,\n"
        + "ju@example.org,Ju\u202eevil,DE,X,Full,2027-01-01,\n"
        + "ka@example.org,Ka,DE,Lab\x1b[31m,Full,2027-01-01,\n",
        {5, 6, 7, 8},
    ),
    "dates no term can have": (GOOD + "lu@example.org,Lu,DE,X,Full,0001-01-01,\n", {5}),
}


@pytest.fixture
def other_accounts(db):
    UserFactory(email="holder@example.org", orcid=TAKEN_ORCID)
    owner = UserFactory(email="owner@example.org")
    EmailAddress.objects.create(user=owner, email="Second@example.org", verified=False, primary=False)


@pytest.mark.parametrize("name", BAD_FILES)
def test_dry_run_lists_every_row_the_real_run_refuses_and_nothing_else(types, other_accounts, name):
    text, bad_lines = BAD_FILES[name]
    rows = import_read(HEADER + text)
    counts = (User.objects.count(), Membership.objects.count(), Term.objects.count())

    _good, dry_run_errors = import_validate(rows)
    assert {line for line, _reason in dry_run_errors} == bad_lines

    with pytest.raises(ImportRowsInvalid) as refused:
        import_apply(rows=rows)
    assert refused.value.errors == dry_run_errors
    assert (User.objects.count(), Membership.objects.count(), Term.objects.count()) == counts

    # Every row the dry run passes really is importable: without the listed rows the file imports, intact.
    clean = [(line, values) for line, values in rows if line not in bad_lines]
    assert import_apply(rows=clean)["created_users"] == len(clean)
    for _line, values in clean:
        user = User.objects.get(email=values["email"].lower())
        assert (user.full_name, user.institution) == (values["full name"], values["institution"])


def test_duplicate_orcid_is_reported_by_the_dry_run_and_refused_by_the_real_run(types, csv_file, capsys):
    path = csv_file(HEADER + BAD_FILES["the same ORCID twice"][0])
    for arguments in (["--dry-run"], []):
        with pytest.raises(CommandError, match="1 of 4 rows are invalid"):
            call_command("import_members", str(path), *arguments)
        assert (
            "line 5: ORCID 0000-0002-1825-0097 appears twice in the file (first on line 2)" in capsys.readouterr().err
        )
    assert not User.objects.exists()


@pytest.mark.parametrize("content", ["ana@example.org,Ana\x00,BR,USP,Full,2027-03-31,\n", "\x00\n"])
def test_nul_characters_refuse_the_file_with_their_line(types, csv_file, client, content):
    with pytest.raises(CommandError, match=r"NUL characters \(line 2\)"):
        call_command("import_members", str(csv_file(HEADER + content)), "--dry-run")
    client.force_login(StaffFactory(is_superuser=True))
    upload = SimpleUploadedFile("members.csv", (HEADER + content).encode())
    response = client.post("/admin/members/membership/import/", {"file": upload})
    assert response.status_code == 200
    assert "NUL characters (line 2)" in response.content.decode()
    assert not MemberImport.objects.exists()


def test_a_field_past_the_csv_limit_is_a_file_error_not_a_crash(types, csv_file):
    with pytest.raises(CommandError, match="Line 2 is not valid CSV"):
        call_command("import_members", str(csv_file(HEADER + "a@example.org," + "x" * 200_000 + "\n")))


def test_admin_upload_with_a_duplicate_orcid_is_rejected_and_every_reload_answers(client, types):
    client.force_login(StaffFactory(is_superuser=True))
    upload = SimpleUploadedFile("members.csv", (HEADER + BAD_FILES["the same ORCID twice"][0]).encode())
    location = client.post("/admin/members/membership/import/", {"file": upload})["Location"]
    pages = [client.get(location) for _ in range(3)]
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert "appears twice in the file (first on line 2)" in pages[-1].content.decode()
    assert MemberImport.objects.get().status == ImportStatus.INVALID
    assert not User.objects.filter(email__endswith="@example.org").exists()


def test_a_job_that_fails_unexpectedly_ends_failed_with_the_reason_and_reloads_answer(client, types):
    # The database itself refuses the write, as a full disk or a lost connection would.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse_terms() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'simulated disk failure'; END $$ LANGUAGE plpgsql; "
            "CREATE TRIGGER test_refuse_terms BEFORE INSERT ON members_term "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_terms();"
        )
    client.force_login(StaffFactory(is_superuser=True))
    upload = SimpleUploadedFile("members.csv", (HEADER + GOOD).encode())
    location = client.post("/admin/members/membership/import/", {"file": upload})["Location"]
    pages = [client.get(location) for _ in range(4)]
    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    job = MemberImport.objects.get()
    assert job.status == ImportStatus.FAILED
    assert "simulated disk failure" in job.failure
    assert "simulated disk failure" in pages[-1].content.decode()
    assert 'http-equiv="refresh"' not in pages[-1].content.decode()
    assert not User.objects.filter(email="ana@example.org").exists()


def test_uploads_above_the_limit_are_refused_before_parsing(client, types, settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    client.force_login(StaffFactory(is_superuser=True))
    upload = SimpleUploadedFile("members.csv", (HEADER + GOOD * 6000).encode())
    response = client.post("/admin/members/membership/import/", {"file": upload})
    assert response.status_code == 200
    assert "The file is larger than 1 MB; please upload a smaller one." in response.content.decode()
    assert not MemberImport.objects.exists()
