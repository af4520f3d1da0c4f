"""Staff export a large filtered list in a real browser: confirm, watch it on the Exports page, download it."""

import pytest
from django.conf import settings

from members.models import Membership
from society.models import Export, ExportStatus
from society.services.exports import export_run
from tests.clients import Client
from tests.factories import StaffFactory, TermFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, databases=["default", "replica"])]


def log_in(page, user, live_server):
    """Reuse a session made by Django's test client (MFA and password screens are not under test here)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


# No axe here: Django's own admin chrome (white breadcrumb links on light blue) fails link-in-text-block on
# every admin page; the pages added here use only the admin's own elements.
def test_staff_prepare_a_large_export_follow_it_and_download_it(page, live_server, settings, tmp_path):
    settings.EXPORT_STREAM_MAX_ROWS = 3
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {**settings.STORAGES["exports"], "OPTIONS": {"location": tmp_path}},
    }
    for number in range(4):
        TermFactory(
            membership=Membership.objects.create(user=UserFactory(email=f"ke{number}@example.org", country="KE"))
        )
    TermFactory(membership=Membership.objects.create(user=UserFactory(email="de@example.org", country="DE")))
    log_in(page, StaffFactory(is_superuser=True), live_server)

    page.goto("/admin/members/membership/?country=KE")
    page.get_by_role("link", name="Export these as CSV").click()
    page.get_by_text("This export has 4 rows").wait_for()
    page.get_by_role("button", name="Prepare the export").click()

    page.wait_for_url("**/admin/society/export/")
    assert page.locator("[data-refresh-seconds]").count() == 1  # reloads itself while the export waits
    page.get_by_text("The export is being prepared").wait_for()

    export_run(export_id=Export.objects.get().pk)  # what the worker does
    # No reload by the test: the page's own script brings the finished export.
    page.get_by_role("link", name="Download").wait_for(timeout=15_000)
    assert Export.objects.get().status == ExportStatus.DONE
    assert page.locator("[data-refresh-seconds]").count() == 0
    page.screenshot(path=str(tmp_path / "exports.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    assert sorted(line.split(",")[0] for line in lines[1:]) == [f"ke{n}@example.org" for n in range(4)]
