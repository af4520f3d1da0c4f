"""Import members from the previous system's CSV: check every row first, write only when all are valid.

Columns: email, full name, country (ISO code or English name), institution, type, term end date
(YYYY-MM-DD), ORCID. Rows are matched by email, so importing the same file twice changes nothing.

One validation pass serves the dry run, the admin's chunked check and the real run: `import_apply` runs
`import_validate` itself inside its transaction and refuses the file when it finds anything, so what a dry
run reports and what a real run refuses cannot drift apart. Every check the database would make (lengths,
uniqueness of emails and ORCIDs, NUL characters) is made here first, so a valid file never meets an
IntegrityError.
"""

import csv
import datetime
import io
import logging
import unicodedata
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django_countries import countries

from members.models import ImportStatus, MemberImport, Membership, MembershipSource, MembershipType, Term, User
from members.validators import orcid_normalise, person_name_normalise, validate_orcid, validate_person_name

logger = logging.getLogger(__name__)

COLUMNS = ["email", "full name", "country", "institution", "type", "term end date", "orcid"]
# Rows an admin upload checks per request, so staff see progress on a file of thousands.
IMPORT_CHUNK = 500
# The columns the values are stored in decide how long they may be.
MAX_LENGTHS = {
    column: User._meta.get_field(field).max_length
    for column, field in (("email", "email"), ("full name", "full_name"), ("institution", "institution"))
}
# Term end dates outside this range are typos (a two-digit year, swapped columns); year 1 would not even
# leave room for the term's start date.
EARLIEST_END = datetime.date(1970, 1, 1)
LATEST_END = datetime.date(2100, 12, 31)


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
    """The file itself cannot be read (not CSV, missing columns, NUL characters)."""


class ImportRowsInvalid(ValueError):
    """Some rows are invalid; `errors` lists (line, reason) pairs. Nothing was written."""

    def __init__(self, errors: list[tuple[int, str]]):
        super().__init__(_("%(count)d rows are invalid.") % {"count": len(errors)})
        self.errors = errors


def import_read(text: str) -> list[tuple[int, dict]]:
    """(line number, row) pairs; line numbers count the header as line 1, as a spreadsheet shows them."""
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        # Postgres cannot store NUL in text, so such a file could neither be kept for checking nor imported.
        lines = sorted({number for number, line in enumerate(text.splitlines(), start=1) if "\x00" in line})
        raise ImportFileError(
            _("The file contains NUL characters (line %(lines)s); save it again as UTF-8 text.")
            % {"lines": ", ".join(map(str, lines))}
        )
    reader = csv.DictReader(io.StringIO(text))
    try:
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
    except csv.Error as error:
        # The record that failed starts on the line after the last one the reader finished.
        raise ImportFileError(
            _("Line %(line)d is not valid CSV: %(error)s") % {"line": reader.line_num + 1, "error": error}
        ) from error
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


def _too_long(values: dict) -> list[str]:
    return [
        _("%(column)s is longer than %(max)d characters") % {"column": column, "max": limit}
        for column, limit in MAX_LENGTHS.items()
        if len(values[column]) > limit
    ]


def _owners(rows: list[tuple[int, dict]]) -> tuple[dict, dict]:
    """Who already holds the ORCIDs and the email addresses of these rows: {orcid: email}, {address: email}."""
    orcids = {orcid_normalise(values["orcid"]) for _line, values in rows if values["orcid"]}
    emails = {values["email"].lower() for _line, values in rows}
    orcid_owner = {
        orcid: email.lower() for orcid, email in User.objects.filter(orcid__in=orcids).values_list("orcid", "email")
    }
    # An address a member added through "change email" belongs to their account even before it is their login.
    address_owner = {
        address.lower(): email.lower()
        for address, email in EmailAddress.objects.annotate(address=Lower("email"))
        .filter(address__in=emails)
        .values_list("address", "user__email")
    }
    return orcid_owner, address_owner


def import_check(rows: list[tuple[int, dict]]) -> tuple[list[ImportRow], list]:
    """Validate rows one by one; returns (good rows, [(line, reason), ...]). Three queries per call, not per row.

    Problems spanning rows are found by import_file_problems(), so the rows can be checked in chunks.
    """
    types = _types()
    orcid_owner, address_owner = _owners(rows)
    good, errors = [], []
    for line, values in rows:
        values = {**values, "full name": person_name_normalise(values["full name"])}
        reasons = _too_long(values)
        email = values["email"].lower()
        try:
            validate_email(email)
        except ValidationError:
            reasons.append(_("invalid email %(email)r") % {"email": values["email"]})
        if address_owner.get(email, email) != email:
            reasons.append(_("%(email)s is an address of another member's account") % {"email": email})
        if not values["full name"]:
            reasons.append(_("full name is missing"))
        try:
            validate_person_name(values["full name"])
        except ValidationError as error:
            reasons.append(_("full name: %(error)s") % {"error": " ".join(error.messages)})
        if any(unicodedata.category(char) == "Cc" for char in values["institution"]):
            reasons.append(_("institution contains control characters"))
        country = _country_code(values["country"])
        if country is None:
            reasons.append(_("unknown country %(country)r") % {"country": values["country"]})
        type_slug = types.get(values["type"].lower())
        if type_slug is None:
            reasons.append(_("unknown membership type %(type)r") % {"type": values["type"]})
        try:
            end = datetime.date.fromisoformat(values["term end date"])
        except ValueError:
            end = None
            reasons.append(
                _("term end date %(date)r is not a date like 2026-12-31") % {"date": values["term end date"]}
            )
        if end and not EARLIEST_END <= end <= LATEST_END:
            reasons.append(
                _("term end date %(date)s is not between %(earliest)s and %(latest)s")
                % {"date": end.isoformat(), "earliest": EARLIEST_END.isoformat(), "latest": LATEST_END.isoformat()}
            )
        orcid = orcid_normalise(values["orcid"]) if values["orcid"] else ""
        if orcid:
            try:
                validate_orcid(orcid)
            except ValidationError as error:
                reasons.append(
                    _("ORCID %(orcid)r: %(error)s") % {"orcid": values["orcid"], "error": " ".join(error.messages)}
                )
            if orcid_owner.get(orcid, email) != email:
                reasons.append(_("ORCID %(orcid)s belongs to another member") % {"orcid": orcid})
        if reasons:
            errors.append((line, pgettext("separator between the reasons a row was refused", "; ").join(reasons)))
        else:
            good.append(
                ImportRow(line, email, values["full name"], country, values["institution"], type_slug, end, orcid)
            )
    return good, errors


def import_file_problems(rows: list[tuple[int, dict]]) -> list[tuple[int, str]]:
    """Problems only the whole file shows: an email or an ORCID on two rows (unique columns)."""
    errors = []
    seen_emails, seen_orcids = {}, {}
    for line, values in rows:
        email = values["email"].lower()
        if email in seen_emails:
            errors.append(
                (
                    line,
                    _("%(email)s appears twice in the file (first on line %(first)d)")
                    % {"email": email, "first": seen_emails[email]},
                )
            )
        else:
            seen_emails[email] = line
        orcid = orcid_normalise(values["orcid"]) if values["orcid"] else ""
        if orcid and orcid in seen_orcids:
            errors.append(
                (
                    line,
                    _("ORCID %(orcid)s appears twice in the file (first on line %(first)d)")
                    % {"orcid": orcid, "first": seen_orcids[orcid]},
                )
            )
        elif orcid:
            seen_orcids[orcid] = line
    return errors


def import_validate(rows: list[tuple[int, dict]]) -> tuple[list[ImportRow], list]:
    """Check a whole file: every bad row with its line number and reason, sorted by line. The dry run."""
    good, errors = import_check(rows)
    errors = sorted(errors + import_file_problems(rows))
    return good, errors


@transaction.atomic
def import_apply(*, rows: list[tuple[int, dict]]) -> dict[str, int]:
    """Validate the file exactly as the dry run does, then create missing members, memberships and terms, or
    raise ImportRowsInvalid having written nothing.

    Existing profiles are not overwritten; a term is added only when the member has none reaching the
    imported end date, so a re-import is a no-op."""
    good, errors = import_validate(rows)
    if errors:
        raise ImportRowsInvalid(errors)
    types = {t.slug: t for t in MembershipType.objects.all()}
    users = {
        u.email.lower(): u
        for u in User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=[r.email for r in good])
    }
    created_users = created_terms = 0
    for row in good:
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
        membership, _created = Membership.objects.get_or_create(user=user, defaults={"source": MembershipSource.IMPORT})
        # current_end is the latest counting term's end (a trigger keeps it), fresh from get_or_create.
        last_end = membership.current_end
        if last_end is None or last_end < row.end:
            membership_type = types[row.type_slug]
            start = row.end - relativedelta(months=membership_type.term_months) + datetime.timedelta(days=1)
            if last_end is not None and start <= last_end:
                # Terms never overlap (term_counting_terms_never_overlap): continue the member's term.
                start = last_end + datetime.timedelta(days=1)
            Term.objects.create(membership=membership, membership_type=membership_type, start=start, end=row.end)
            created_terms += 1
    return {"rows": len(good), "created_users": created_users, "created_terms": created_terms}


def import_start(*, file_name: str, text: str, by) -> MemberImport:
    """Record an uploaded file for checking in steps; problems spanning rows are known at once.
    Raises ImportFileError when the file itself cannot be read."""
    rows = import_read(text)
    name_length = MemberImport._meta.get_field("file_name").max_length
    return MemberImport.objects.create(
        file_name=file_name.replace("\x00", "")[:name_length],
        content=text,
        total_rows=len(rows),
        created_by=by,
        errors=[list(error) for error in import_file_problems(rows)],
    )


def _import_step(*, job_id: int) -> MemberImport:
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
            # Every row was valid: write them all in one transaction (all or nothing), checked once more because
            # the database may have changed since (an ORCID taken meanwhile).
            try:
                job.summary, job.status = import_apply(rows=import_read(job.content)), ImportStatus.DONE
            except ImportRowsInvalid as invalid:
                job.errors, job.status = [list(error) for error in invalid.errors], ImportStatus.INVALID
            job.save(update_fields=["errors", "status", "summary"])
    return job


def import_fail(*, job_id: int, reason: str) -> MemberImport:
    with transaction.atomic():
        job = MemberImport.objects.select_for_update().get(pk=job_id)
        job.status, job.failure = ImportStatus.FAILED, reason
        job.save(update_fields=["status", "failure"])
    return job


def import_step(*, job_id: int) -> MemberImport:
    """Do the next slice of work: check IMPORT_CHUNK rows, or, once all are checked and valid, write them all.

    The row lock keeps two open progress tabs from checking the same chunk twice. Whatever goes wrong in a
    step, its transaction is rolled back and the job ends "failed" with the reason: a job left "importing"
    would fail again on every reload of the progress page."""
    try:
        return _import_step(job_id=job_id)
    except Exception as error:  # any failure, expected or not, must end the job rather than leave it running
        logger.exception("Member import %s failed", job_id)
        reason = _("The import stopped on an unexpected error and nothing was written: %(error)s") % {
            "error": f"{type(error).__name__}: {error}".replace("\x00", "")[:1000]
        }
        return import_fail(job_id=job_id, reason=reason)
