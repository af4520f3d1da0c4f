"""Import members from the previous system's CSV: check every row first, write only when all are valid.

Columns: email, full name, country (ISO code or English name), institution, type, term end date
(YYYY-MM-DD), ORCID. Rows are matched by email, so importing the same file twice changes nothing.
"""

import csv
import datetime
import io
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django_countries import countries

from members.models import ImportStatus, MemberImport, Membership, MembershipType, Term, User
from members.validators import orcid_normalise, validate_orcid

COLUMNS = ["email", "full name", "country", "institution", "type", "term end date", "orcid"]
# Rows an admin upload checks per request, so staff see progress on a file of thousands.
IMPORT_CHUNK = 500


@dataclass
class ImportRow:
    line: int
    email: str
    full_name: str
    country: str
    institution: str
    type_slug: str
    end: datetime.date
    orcid: str


class ImportFileError(ValueError):
    """The file itself cannot be read (not CSV, missing columns)."""


def import_read(text: str) -> list[tuple[int, dict]]:
    """(line number, row) pairs; line numbers count the header as line 1, as a spreadsheet shows them."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None:
        raise ImportFileError(_("The file is empty."))
    fields = {name.strip().lower(): name for name in reader.fieldnames}
    missing = [column for column in COLUMNS if column not in fields]
    if missing:
        raise ImportFileError(_("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})
    rows = []
    for row in reader:
        values = {column: (row.get(fields[column]) or "").strip() for column in COLUMNS}
        if any(values.values()):
            rows.append((reader.line_num, values))
    return rows


def _country_code(value: str) -> str | None:
    if len(value) == 2 and value.upper() in countries:
        return value.upper()
    return countries.by_name(value) or None


def _types() -> dict[str, str]:
    names = {}
    for membership_type in MembershipType.objects.all():
        names[membership_type.slug.lower()] = membership_type.slug
        names[membership_type.name.lower()] = membership_type.slug
    return names


def import_check(rows: list[tuple[int, dict]]) -> tuple[list[ImportRow], list]:
    """Validate rows; returns (good rows, [(line, reason), ...]). Two queries per call, not per row.

    Duplicates across the whole file are found by duplicate_emails(), so the rows can be checked in chunks.
    """
    types = _types()
    good, errors = [], []
    orcids = {orcid_normalise(values["orcid"]) for _line, values in rows if values["orcid"]}
    orcid_owner = {
        orcid: email.lower() for orcid, email in User.objects.filter(orcid__in=orcids).values_list("orcid", "email")
    }
    for line, values in rows:
        reasons = []
        email = values["email"].lower()
        try:
            validate_email(email)
        except ValidationError:
            reasons.append(_("invalid email %(value)r") % {"value": values["email"]})
        if not values["full name"]:
            reasons.append(_("full name is missing"))
        country = _country_code(values["country"])
        if country is None:
            reasons.append(_("unknown country %(value)r") % {"value": values["country"]})
        type_slug = types.get(values["type"].lower())
        if type_slug is None:
            reasons.append(_("unknown membership type %(value)r") % {"value": values["type"]})
        try:
            end = datetime.date.fromisoformat(values["term end date"])
        except ValueError:
            end = None
            reasons.append(
                _("term end date %(value)r is not a date like 2026-12-31") % {"value": values["term end date"]}
            )
        orcid = orcid_normalise(values["orcid"]) if values["orcid"] else ""
        if orcid:
            try:
                validate_orcid(orcid)
            except ValidationError as error:
                reasons.append(
                    _("ORCID %(value)r: %(problem)s") % {"value": values["orcid"], "problem": " ".join(error.messages)}
                )
            if orcid_owner.get(orcid, email) != email:
                reasons.append(_("ORCID %(orcid)s belongs to another member") % {"orcid": orcid})
        if reasons:
            errors.append((line, _("; ").join(reasons)))
        else:
            good.append(
                ImportRow(line, email, values["full name"], country, values["institution"], type_slug, end, orcid)
            )
    return good, errors


def duplicate_emails(rows: list[tuple[int, dict]]) -> list[tuple[int, str]]:
    seen, errors = {}, []
    for line, values in rows:
        email = values["email"].lower()
        if email in seen:
            errors.append(
                (
                    line,
                    _("%(email)s appears twice in the file (first on line %(line)d)")
                    % {"email": email, "line": seen[email]},
                )
            )
        else:
            seen[email] = line
    return errors


@transaction.atomic
def import_apply(rows: list[ImportRow]) -> dict[str, int]:
    """Create missing members, memberships and terms. Existing profiles are not overwritten; a term is
    added only when the member has none reaching the imported end date, so a re-import is a no-op."""
    types = {t.slug: t for t in MembershipType.objects.all()}
    users = {
        u.email.lower(): u
        for u in User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=[r.email for r in rows])
    }
    created_users = created_terms = 0
    for row in rows:
        user = users.get(row.email)
        if user is None:
            user = User(
                email=row.email,
                full_name=row.full_name,
                country=row.country,
                institution=row.institution,
                orcid=row.orcid,
            )
            user.set_unusable_password()
            user.save()
            created_users += 1
        membership, _created = Membership.objects.get_or_create(user=user)
        if not Term.objects.counting().filter(membership=membership, end__gte=row.end).exists():
            membership_type = types[row.type_slug]
            start = row.end - relativedelta(months=membership_type.term_months) + datetime.timedelta(days=1)
            Term.objects.create(membership=membership, membership_type=membership_type, start=start, end=row.end)
            created_terms += 1
    return {"rows": len(rows), "created_users": created_users, "created_terms": created_terms}


def import_validate(rows: list[tuple[int, dict]]) -> tuple[list[ImportRow], list]:
    """Check a whole file: every bad row with its line number and reason, sorted by line."""
    good, errors = import_check(rows)
    errors = sorted(errors + duplicate_emails(rows))
    return good, errors


def import_start(*, file_name: str, text: str, by) -> MemberImport:
    """Record an uploaded file for checking in steps; duplicates across the whole file are known at once.
    Raises ImportFileError when the file itself cannot be read."""
    rows = import_read(text)
    return MemberImport.objects.create(
        file_name=file_name,
        content=text,
        total_rows=len(rows),
        created_by=by,
        errors=[list(error) for error in duplicate_emails(rows)],
    )


def import_step(*, job_id: int) -> MemberImport:
    """Do the next slice of work: check IMPORT_CHUNK rows, or, once all are checked and valid, write them all.

    The row lock keeps two open progress tabs from checking the same chunk twice."""
    with transaction.atomic():
        job = MemberImport.objects.select_for_update().get(pk=job_id)
        if job.status == ImportStatus.CHECKING:
            rows = import_read(job.content)
            chunk = rows[job.checked_rows : job.checked_rows + IMPORT_CHUNK]
            _good, errors = import_check(chunk)
            job.errors = sorted(job.errors + [list(error) for error in errors])
            job.checked_rows += len(chunk)
            if job.checked_rows >= job.total_rows:
                job.status = ImportStatus.INVALID if job.errors else ImportStatus.IMPORTING
            job.save(update_fields=["errors", "checked_rows", "status"])
        elif job.status == ImportStatus.IMPORTING:
            # Every row was valid: write them all in one transaction (all or nothing).
            good, errors = import_check(import_read(job.content))
            if errors:  # the database changed since the check (e.g. an ORCID taken meanwhile)
                job.errors, job.status = [list(error) for error in errors], ImportStatus.INVALID
            else:
                job.summary, job.status = import_apply(good), ImportStatus.DONE
            job.save(update_fields=["errors", "status", "summary"])
    return job
