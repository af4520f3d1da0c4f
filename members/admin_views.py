"""Staff pages in the admin beyond changelists: the membership dashboard and the member import."""

import datetime

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django_countries import countries

from members.forms import ImportUploadForm
from members.models import ImportStatus, IncomeBand, MemberImport, Membership, MembershipStatus, Order, Term
from members.models.memberships import society_today
from members.services.imports import (
    ImportFileError,
    duplicate_emails,
    import_apply,
    import_check,
    import_read,
)
from members.services.reminders import heartbeat_problem

IMPORT_CHUNK = 500
CHART_COUNTRIES = 25  # the chart shows the largest; the table below it lists every country


def dashboard_figures(today: datetime.date | None = None) -> dict:
    today = today or society_today()
    memberships = Membership.objects.with_status(today)
    by_status = dict(memberships.order_by().values_list("status").annotate(n=Count("id")))
    statuses = [(status, by_status.get(status.value, 0)) for status in MembershipStatus]

    with_access = memberships.filter(status__in=["active", "expiring", "grace"]).order_by()
    by_country = list(with_access.values_list("user__country").annotate(n=Count("id")).order_by("-n", "user__country"))
    largest = by_country[0][1] if by_country else 1
    countries_rows = [
        {"code": code, "name": countries.name(code) or code, "count": n, "width": round(100 * n / largest, 1)}
        for code, n in by_country
    ]

    last_ends = Membership.objects.with_last_end().filter(cancelled_at__isnull=True).order_by()
    ending = [
        (days, last_ends.filter(last_end__gte=today, last_end__lte=today + datetime.timedelta(days=days)).count())
        for days in (30, 60, 90)
    ]

    # Renewal rate: of the terms that ended in the last 12 months, the share followed by a later term.
    year_ago = today - datetime.timedelta(days=365)
    later = Term.objects.counting().filter(membership=OuterRef("membership"), start__gt=OuterRef("end"))
    ended = Term.objects.counting().filter(end__gte=year_ago, end__lt=today)
    renewal = {"total": ended.count(), "renewed": ended.filter(Exists(later)).count()}
    renewal["rate"] = round(100 * renewal["renewed"] / renewal["total"], 1) if renewal["total"] else None

    paid = Order.objects.paid().filter(paid_at__date__gte=year_ago).order_by()
    dues = {band: (total, n) for band, total, n in paid.values_list("band").annotate(Sum("amount"), Count("id"))}
    dues_rows = [(band.label, *dues.get(band.value, (0, 0))) for band in IncomeBand]
    return {
        "today": today,
        "statuses": statuses,
        "total": sum(n for _status, n in statuses),
        "countries": countries_rows,
        "chart": countries_rows[:CHART_COUNTRIES],
        "chart_height": 22 * len(countries_rows[:CHART_COUNTRIES]) + 10,
        "ending": ending,
        "renewal": renewal,
        "dues": dues_rows,
        "dues_total": sum(row[1] for row in dues_rows),
    }


def dashboard(request):
    from django.contrib import admin

    context = {
        **admin.site.each_context(request),
        "title": _("Membership dashboard"),
        "reminder_problem": heartbeat_problem(),
        **dashboard_figures(),
    }
    return render(request, "admin/members/dashboard.html", context)


def import_upload(request):
    from django.contrib import admin

    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = upload.read().decode("utf-8-sig")
            rows = import_read(text)
        except (UnicodeDecodeError, ImportFileError) as error:
            form.add_error("file", str(error))
        else:
            job = MemberImport.objects.create(
                file_name=upload.name,
                content=text,
                total_rows=len(rows),
                created_by=request.user,
                errors=[list(error) for error in duplicate_emails(rows)],
            )
            return redirect("admin:members_membership_import_progress", pk=job.pk)
    context = {
        **admin.site.each_context(request),
        "title": "Import members",
        "form": form,
        "imports": MemberImport.objects.defer("content")[:10],
    }
    return render(request, "admin/members/import_upload.html", context)


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


def import_progress(request, pk: int):
    from django.contrib import admin

    job = get_object_or_404(MemberImport.objects.defer("content"), pk=pk)
    if job.status in {ImportStatus.CHECKING, ImportStatus.IMPORTING}:
        job = import_step(job_id=job.pk)
        if job.status == ImportStatus.DONE:
            messages.success(request, f"Imported {job.file_name}.")
    context = {
        **admin.site.each_context(request),
        "title": f"Import {job.file_name}",
        "job": job,
        "running": job.status in {ImportStatus.CHECKING, ImportStatus.IMPORTING},
    }
    return render(request, "admin/members/import_progress.html", context)
