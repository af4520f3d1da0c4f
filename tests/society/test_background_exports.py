"""Large changelist exports are written by a worker, followed on the Exports page, downloaded by staff only,
announced by email, and deleted after a week."""

import csv
import datetime
import io

import pytest
import redis
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.models import IncomeBand, Membership, MembershipType, OrderStatus, Payment, PaymentMethod
from society.models import Export, ExportStatus, OutgoingEmail
from society.services import exports as export_services
from society.services.exports import export_publish, export_request, export_run, exports_purge
from society.tasks import purge_exports
from tests.clients import Client
from tests.factories import OrderFactory, StaffFactory, TermFactory, UserFactory, price_matrix
from tests.workers import current_celery_app, free_port, make_test_app, wait_for

BOTH_DATABASES = ["default", "replica"]
EXPORT_URL = "/admin/members/membership/export/"
NOW = datetime.datetime(2026, 12, 5, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _exports_in_a_temporary_folder(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {**settings.STORAGES["exports"], "OPTIONS": {"location": tmp_path}},
    }
    # A handful of rows stands for the thousands that make an export go to the background.
    settings.EXPORT_STREAM_MAX_ROWS = 3


def members_in(country: str, count: int, *, email_prefix: str) -> set[str]:
    emails = set()
    for number in range(count):
        user = UserFactory(email=f"{email_prefix}{number}@example.org", country=country)
        TermFactory(membership=Membership.objects.create(user=user))
        emails.add(user.email)
    return emails


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"))))


def superuser_client():
    user = StaffFactory(is_superuser=True)
    client = Client()
    client.force_login(user)
    return user, client


@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_large_export_is_written_by_a_worker_and_holds_exactly_the_filtered_changelist(celery_worker, smtp_server):
    kenyans = members_in("KE", 4, email_prefix="ke")
    members_in("DE", 3, email_prefix="de")
    hostile = UserFactory(email="ke-evil@example.org", country="KE", full_name="=HYPERLINK(1)")
    TermFactory(membership=Membership.objects.create(user=hostile))
    kenyans.add(hostile.email)
    staff, client = superuser_client()

    # The changelist staff look at: Kenya, searched for ".org", newest ending first.
    query = "country=KE&q=.org&o=-7"
    shown = client.get(f"/admin/members/membership/?{query}")
    assert shown.status_code == 200
    assert {m.user.email for m in shown.context["cl"].result_list} == kenyans

    confirm = client.get(f"{EXPORT_URL}?{query}")
    assert confirm.status_code == 200
    assert "This export has 5 rows" in confirm.content.decode()
    response = client.post(f"{EXPORT_URL}?{query}")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:society_export_changelist")

    export = Export.objects.get()
    assert export.requested_by == staff
    assert "p=" not in export.query
    wait_for(lambda: Export.objects.get().status == ExportStatus.DONE, message="the export written by the worker")
    export.refresh_from_db()
    assert (export.rows_done, export.rows_total, export.percent) == (5, 5, 100)

    page = client.get(reverse("admin:society_export_changelist"))
    download_url = reverse("admin:society_export_download", args=[export.pk])
    assert download_url in page.content.decode()
    assert "data-refresh-seconds" not in page.content.decode()  # nothing left to wait for

    download = client.get(download_url)
    assert download.status_code == 200
    rows = csv_rows(b"".join(download.streaming_content))
    assert rows[0][:3] == ["email", "full name", "country"]
    assert {row[0] for row in rows[1:]} == kenyans
    assert all(row[2] == "Kenya" for row in rows[1:])
    assert [row[1] for row in rows[1:] if row[0] == hostile.email] == ["'=HYPERLINK(1)"]  # formula neutralised

    wait_for(lambda: smtp_server.handler.count() == 1, message="the email with the link")
    message = smtp_server.handler.messages[0]
    assert message["To"] == staff.email
    assert "Your export is ready" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert f"http://localhost:8000{download_url}" in body
    assert OutgoingEmail.objects.filter(kind="export_ready").count() == 1


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_a_small_filtered_export_still_streams_at_once(django_capture_on_commit_callbacks):
    members_in("KE", 2, email_prefix="ke")
    members_in("DE", 5, email_prefix="de")
    _staff, client = superuser_client()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(f"{EXPORT_URL}?country=KE")
    assert response.streaming
    assert len(csv_rows(b"".join(response.streaming_content))) == 3
    assert (Export.objects.count(), callbacks) == (0, [])


# Transactional: the replica alias is a connection of its own, which sees committed rows only.
@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_export_writes_its_progress_as_it_goes_and_the_page_refreshes_meanwhile(monkeypatch):
    members_in("KE", 7, email_prefix="ke")
    staff, client = superuser_client()
    export = Export.objects.create(source="members.membership", query="", title="All", requested_by=staff)
    monkeypatch.setattr(export_services, "PROGRESS_EVERY", 2)
    with CaptureQueriesContext(connections["default"]) as queries:
        export_run(export_id=export.pk)
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "society_export" SET "rows_done"')]
    assert [sql.split('"rows_done" = ')[1].split(" ")[0].rstrip(",") for sql in updates] == ["2", "4", "6", "7"]

    running = Export.objects.create(
        source="members.membership",
        title="Running",
        requested_by=staff,
        status=ExportStatus.RUNNING,
        rows_total=200,
        rows_done=50,
        started_at=timezone.now(),
    )
    page = client.get(reverse("admin:society_export_changelist")).content.decode()
    assert 'value="25"' in page
    assert "25 %" in page
    assert 'data-refresh-seconds="3"' in page  # static/js/admin.js reloads it
    assert 'http-equiv="refresh"' not in page
    assert reverse("admin:society_export_download", args=[running.pk]) not in page


# Transactional: the replica alias is a connection of its own, which sees committed rows only.
@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_the_heavy_reads_of_an_export_go_to_the_replica_and_its_writes_to_the_primary():
    members_in("KE", 4, email_prefix="ke")
    staff, _client = superuser_client()
    export = Export.objects.create(source="members.membership", query="", title="All", requested_by=staff)
    with (
        CaptureQueriesContext(connections["replica"]) as replica,
        CaptureQueriesContext(connections["default"]) as primary,
    ):
        export_run(export_id=export.pk)
    assert any('FROM "members_membership"' in q["sql"] for q in replica)
    assert not any(q["sql"].startswith(("UPDATE", "INSERT", "DELETE")) for q in replica)
    assert not any('FROM "members_membership"' in q["sql"] for q in primary)
    assert Export.objects.get().status == ExportStatus.DONE


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_a_failing_export_is_reported_failed_with_the_reason_never_left_running():
    staff, client = superuser_client()
    export = Export.objects.create(
        source="members.membership", query="user__password__startswith=x", title="Bad", requested_by=staff
    )
    export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert export.error == "DisallowedModelAdminLookup: Filtering by user__password__startswith not allowed"
    assert export.finished_at is not None
    assert not OutgoingEmail.objects.exists()
    page = client.get(reverse("admin:society_export_changelist")).content.decode()
    assert "Failed: DisallowedModelAdminLookup" in page
    assert "data-refresh-seconds" not in page


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_an_export_the_broker_cannot_take_is_failed_at_once():
    staff, _client = superuser_client()
    export = Export.objects.create(source="members.membership", title="All", requested_by=staff)
    with current_celery_app(make_test_app(f"redis://127.0.0.1:{free_port()}/0", "nobody-listens")):
        assert export_publish(export_id=export.pk) is False
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert "could not be queued" in export.error


# Transactional: the replica alias is a connection of its own, which sees committed rows only.
@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_a_second_run_of_the_same_export_does_nothing():
    members_in("KE", 4, email_prefix="ke")
    staff, _client = superuser_client()
    export = Export.objects.create(source="members.membership", title="All", requested_by=staff)
    assert export_run(export_id=export.pk).status == ExportStatus.DONE
    assert export_run(export_id=export.pk) is None
    assert OutgoingEmail.objects.filter(kind="export_ready").count() == 1


def done_export(owner, *, content=b"email\n"):
    name = storages["exports"].save("exports/abc/memberships.csv", ContentFile(content))
    return Export.objects.create(
        source="members.membership",
        title="All",
        requested_by=owner,
        status=ExportStatus.DONE,
        file=name,
        rows_total=0,
        finished_at=timezone.now(),
    )


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_only_the_staff_member_who_asked_or_a_superuser_can_download():
    owner = StaffFactory()
    export = done_export(owner)
    url = reverse("admin:society_export_download", args=[export.pk])

    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert "login" in anonymous["Location"]
    member = Client()
    member.force_login(UserFactory())
    assert member.get(url).status_code == 302
    without_mfa = Client()
    without_mfa.force_login(owner, mfa=False)
    assert without_mfa.get(url).status_code == 302
    colleague = Client()
    colleague.force_login(StaffFactory())
    assert colleague.get(url).status_code == 404
    assert "Owner&#x27;s memberships" not in colleague.get(reverse("admin:society_export_changelist")).content.decode()

    owners = Client()
    owners.force_login(owner)
    response = owners.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="memberships.csv"'
    assert b"".join(response.streaming_content) == b"email\n"
    _superuser, superuser = superuser_client()
    response = superuser.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"email\n"


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_exports_are_deleted_with_their_file_after_seven_days_and_dead_runs_are_failed(settings):
    owner = StaffFactory()
    with time_machine.travel(NOW, tick=False):
        export = done_export(owner)
        stuck = Export.objects.create(
            source="members.membership",
            title="Stuck",
            requested_by=owner,
            status=ExportStatus.RUNNING,
            started_at=timezone.now(),
        )
    storage = storages["exports"]
    assert storage.exists(export.file.name)

    with time_machine.travel(NOW + datetime.timedelta(days=6, hours=23), tick=False):
        assert exports_purge() == {"stalled": 1, "deleted": 0}
    stuck.refresh_from_db()
    assert stuck.status == ExportStatus.FAILED
    assert "did not finish within 30 minutes" in stuck.error
    assert storage.exists(export.file.name)

    # The hourly beat job runs the same purge.
    assert settings.CELERY_BEAT_SCHEDULE["purge-exports"] == {"task": "society.tasks.purge_exports", "schedule": 3600}
    with time_machine.travel(NOW + datetime.timedelta(days=7, minutes=1), tick=False):
        purge_exports()
    assert not storage.exists(export.file.name)
    assert not Export.objects.exists()


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_request_queues_the_run_only_after_commit(django_capture_on_commit_callbacks, celery_app, test_broker_url):
    staff = StaffFactory(is_superuser=True)
    queue = redis.Redis.from_url(test_broker_url)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        export_request(source="members.membership", query="country=KE", title="Kenya", by=staff)
        assert queue.llen(celery_app.conf.task_default_queue) == 0
    assert queue.llen(celery_app.conf.task_default_queue) == 1
    assert callbacks
    export = Export.objects.get()
    assert (export.status, export.query) == (ExportStatus.QUEUED, "country=KE")


def orders_and_payments():
    for number in range(6):
        user = UserFactory(email=f"buyer{number}@example.org", country="KE" if number % 2 else "DE")
        paid = OrderStatus.PAID if number < 5 else OrderStatus.PENDING
        order = OrderFactory(
            membership=Membership.objects.create(user=user),
            status=paid,
            paid_at=timezone.now() if paid == OrderStatus.PAID else None,
        )
        Payment.objects.create(
            order=order,
            amount=order.amount,
            currency="USD",
            received_on=datetime.date(2026, 11, number + 1),
            method=PaymentMethod.CHEQUE if number < 4 else PaymentMethod.CASH,
            reference=f"ref-{number}",
        )


@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
@pytest.mark.parametrize(
    ("source", "query", "key"),
    [
        ("members.order", "q=buyer&status__exact=paid&o=1", lambda obj: obj.number),
        ("members.payment", "method__exact=cheque&q=buyer", lambda obj: obj.order.number),
        ("members.user", "country__exact=KE&q=buyer", lambda obj: obj.email),
    ],
)
def test_orders_payments_and_accounts_export_exactly_their_filtered_changelist(source, query, key):
    orders_and_payments()
    staff, client = superuser_client()
    app_label, model = source.split(".")
    shown = client.get(reverse(f"admin:{app_label}_{model}_changelist") + f"?{query}").context["cl"].result_list
    expected = [key(obj) for obj in shown]
    assert 2 <= len(expected) < 6  # the filter matters

    export = Export.objects.create(source=source, query=query, title=model, requested_by=staff)
    export_run(export_id=export.pk)
    export.refresh_from_db()
    with storages["exports"].open(export.file.name, "rb") as file:
        rows = csv_rows(file.read())[1:]
    column = {"members.order": 0, "members.payment": 1, "members.user": 0}[source]
    assert [row[column] for row in rows] == expected  # the changelist's rows, in its order


@pytest.mark.django_db(transaction=True, databases=BOTH_DATABASES)
def test_membership_export_columns_equal_what_the_changelist_shows():
    """The export reads types, last orders and bands per chunk instead of the changelist's per-row subqueries:
    the values must be the same."""
    price_matrix("Full", "Student")
    orders_and_payments()
    for number, user in enumerate(UserFactory.create_batch(4, country="IN")):
        membership = Membership.objects.create(user=user)
        TermFactory(membership=membership, membership_type=MembershipType.objects.get(slug="student"))
        if number % 2:
            OrderFactory(membership=membership, number=f"2099-9{number:05d}")
    staff, client = superuser_client()
    shown = client.get("/admin/members/membership/?o=1").context["cl"].result_list
    expected = [
        [m.user.email, IncomeBand(m.band).label if m.band else "", m.type_name or "", m.last_order or ""] for m in shown
    ]
    assert any(row[3] for row in expected)
    assert {row[2] for row in expected} >= {"Student"}

    export = Export.objects.create(source="members.membership", query="o=1", title="All", requested_by=staff)
    export_run(export_id=export.pk)
    export.refresh_from_db()
    with storages["exports"].open(export.file.name, "rb") as file:
        rows = csv_rows(file.read())[1:]
    assert [[row[0], row[3], row[4], row[7]] for row in rows] == expected


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_staff_who_lost_the_right_to_see_the_list_get_a_failed_export_not_a_file():
    staff = StaffFactory()  # staff without the permission to view memberships
    export = Export.objects.create(source="members.membership", title="All", requested_by=staff)
    export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED
    assert export.error.startswith("PermissionDenied")
    assert export.file.name == ""


@pytest.mark.django_db(databases=BOTH_DATABASES)
def test_the_export_action_on_all_rows_of_a_large_filtered_list_goes_to_the_background():
    members_in("KE", 4, email_prefix="ke")
    members_in("DE", 1, email_prefix="de")
    _staff, client = superuser_client()
    first = Membership.objects.filter(user__country="KE").first()
    form = {"action": "export_csv", "select_across": "1", "index": "0", "_selected_action": [first.pk]}
    response = client.post("/admin/members/membership/?country=KE", form)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:society_export_changelist")
    export = Export.objects.get()
    assert (export.query, export.title) == ("country=KE", "Memberships (4 rows)")

    # A few rows picked by hand still download at once.
    response = client.post("/admin/members/membership/?country=KE", {**form, "select_across": "0"})
    assert response.streaming
    assert len(csv_rows(b"".join(response.streaming_content))) == 2
