"""A large activity export in a real Chromium: offered, prepared, followed, downloaded.

The status page asks for progress with its static script and shows the download link by
itself once the file is written, under the strict Content-Security-Policy; the pages pass
axe-core's serious checks and fit a 390 px phone.
"""

import re
import shutil

import pytest

from integrations.exports.services import export_job_run
from integrations.models import ExportJob
from tests.browser.axe import page_fits_width, serious_accessibility_violations
from tests.browser.chromium import SCREENS, chromium_page, expect
from tests.browser.test_entra_setup_journey import sign_in
from tests.integrations.test_activity_page import bulk_events

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is missing"),
]


@pytest.fixture
def page():
    with chromium_page(accept_downloads=True) as page:
        yield page


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "exports")},
        },
    }


def test_an_admin_prepares_a_large_export_follows_it_and_downloads_it(
    page, live_server, admin_user, company, entra_integration, settings, export_dir
):
    settings.QA_EXPORT_IMMEDIATE_MAX_ROWS = 20
    bulk_events(company, 45)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text))

    sign_in(page, live_server, admin_user)
    # The seeded rows are lookups: shown with Everything, not under the default changes.
    page.goto(f"{live_server.url}/settings/integrations/entra-id/activity/?show=all")
    page.get_by_role("link", name=re.compile("^Export CSV")).click()
    expect(page.get_by_role("heading", name="Export provisioning activity as CSV")).to_be_visible()
    expect(page.get_by_text("More than 20 rows")).to_be_visible()
    assert serious_accessibility_violations(page) == []

    page.get_by_role("button", name="Prepare the CSV file").click()
    status = page.get_by_role("status")
    expect(status).to_have_text("Waiting for a worker.")
    assert serious_accessibility_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    assert page_fits_width(page)
    page.screenshot(path=str(SCREENS / "40-export-waiting-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # A worker writes the file; the open page notices by itself and offers the download.
    assert export_job_run(job_id=ExportJob.objects.get().pk)
    download_link = page.get_by_role("link", name=re.compile("^Download CSV"))
    expect(download_link).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Ready: 45 rows")
    assert serious_accessibility_violations(page) == []
    page.screenshot(path=str(SCREENS / "41-export-ready.png"), full_page=True)

    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert re.fullmatch(r"provisioning-activity-\d{8}-\d{4}\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8-sig") as csv_file:
        assert len(csv_file.read().splitlines()) == 46

    # The audit trail says who asked for it and who downloaded it.
    page.goto(f"{live_server.url}/settings/integrations/entra-id/audit/")
    rows = page.get_by_role("row")
    expect(rows.filter(has_text="Requested a CSV export")).to_contain_text("Provisioning activity")
    expect(rows.filter(has_text="Downloaded a CSV export")).to_contain_text("45 rows")
    assert not [text for text in violations if "Content Security Policy" in text]
