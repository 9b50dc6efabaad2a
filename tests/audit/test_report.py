"""The "Protokoll" report in the admin: both log tables, filters, exports, and only for auditors."""

import csv
import io
from datetime import datetime, timedelta

import openpyxl
import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import PageLogEntry

from tests import factories

REPORT = "/admin/protokoll/"


def rows_of_csv(response):
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def rows_of_xlsx(response):
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    header, *rows = workbook.active.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


@pytest.fixture
def auditor(db):
    group = Group.objects.create(name="Revision")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
        Permission.objects.get(content_type__app_label="audit", codename="view_auditseal"),
    )
    return factories.user("revision", groups=[group])


@pytest.fixture
def auditor_client(client, auditor):
    client.force_login(auditor)
    return client


@pytest.fixture
def history(record):
    """Entries on three March days by two people, on a page and on an account."""
    march = timezone.make_aware(datetime(2025, 3, 1, 10, 0))
    editor, approver = record.editor, factories.user("freigabe", first_name="Jens", last_name="Albers")
    return {
        "home edited": log(record.home, "wagtail.edit", user=editor, timestamp=march),
        "section locked": log(
            record.section, "wagtail.lock", user=approver, timestamp=march + timedelta(days=4)
        ),
        "account edited": log(approver, "wagtail.edit", user=approver, timestamp=march + timedelta(days=9)),
    }


def test_the_report_lists_page_and_model_entries_newest_first(auditor_client, record):
    response = auditor_client.get(REPORT)

    assert response.status_code == 200
    entries = response.context["object_list"]
    assert {type(entry).__name__ for entry in entries} == {"PageLogEntry", "ModelLogEntry"}
    assert [entry.timestamp for entry in entries] == sorted(
        (entry.timestamp for entry in entries), reverse=True
    )
    assert "Protokoll" in response.content.decode()


def test_entries_are_filtered_by_page(auditor_client, history, record):
    response = auditor_client.get(REPORT, {"page": record.section.pk})

    entries = response.context["object_list"]
    assert entries and all(getattr(entry, "page_id", None) == record.section.pk for entry in entries)
    assert history["section locked"] in entries


def test_entries_are_filtered_by_user(auditor_client, history):
    approver = history["account edited"].user

    response = auditor_client.get(REPORT, {"user": approver.pk})

    assert response.context["object_list"] == [history["account edited"], history["section locked"]]


def test_entries_are_filtered_by_action(auditor_client, history):
    response = auditor_client.get(REPORT, {"action": "wagtail.lock"})

    assert response.context["object_list"] == [history["section locked"]]


def test_entries_are_filtered_by_date_range(auditor_client, history):
    response = auditor_client.get(REPORT, {"timestamp_from": "2025-03-02", "timestamp_to": "2025-03-10"})

    assert response.context["object_list"] == [history["account edited"], history["section locked"]]


def test_the_csv_export_holds_the_filtered_rows(auditor_client, history):
    response = auditor_client.get(REPORT, {"timestamp_to": "2025-03-31", "export": "csv"})

    assert response["Content-Type"] == "text/csv"
    rows = rows_of_csv(response)
    assert [row["Bezeichnung"] for row in rows] == [entry.label for entry in reversed(history.values())]
    assert [row["Siegel"] for row in rows] == ["intakt"] * 3


def test_the_xlsx_export_holds_the_filtered_rows(auditor_client, history, record):
    response = auditor_client.get(
        REPORT, {"page": record.home.pk, "timestamp_to": "2025-03-31", "export": "xlsx"}
    )

    (row,) = rows_of_xlsx(response)
    assert row["Bezeichnung"] == record.home.title
    assert row["Benutzer"] == "Aylin Kaya"
    assert row["Zeitpunkt (UTC)"] == datetime(2025, 3, 1, 9, 0)
    assert row["Siegel"] == "intakt"


def test_a_changed_entry_shows_its_broken_seal(auditor_client, history):
    PageLogEntry.objects.filter(pk=history["section locked"].pk).update(label="Umbenannt")

    response = auditor_client.get(REPORT, {"timestamp_to": "2025-03-31"})

    statuses = {entry.pk: str(entry.seal_status) for entry in response.context["object_list"]}
    assert statuses[history["section locked"].pk] == "verändert"
    assert statuses[history["home edited"].pk] == "intakt"


@pytest.mark.parametrize("query", [{}, {"export": "csv"}, {"export": "xlsx"}])
def test_an_editor_without_the_permission_is_refused(client, record, query):
    editors = Group.objects.create(name="Redaktion")
    editors.permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(factories.user(groups=[editors]))

    for url in (REPORT, f"{REPORT}ergebnisse/"):
        response = client.get(url, query)
        assert response.status_code == 302
        assert response["Location"] == "/admin/"
        assert record.home.title not in response.content.decode()


def test_only_auditors_find_the_report_in_the_menu(client, auditor, record):
    editors = Group.objects.create(name="Redaktion")
    editors.permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(factories.user(groups=[editors]))
    assert REPORT not in client.get("/admin/").content.decode()

    client.force_login(auditor)
    assert REPORT in client.get("/admin/").content.decode()


def test_administrators_can_grant_the_report_in_the_group_editor(admin_client):
    permission = Permission.objects.get(content_type__app_label="audit", codename="view_auditseal")

    html = admin_client.get("/admin/groups/new/").content.decode()

    assert f'name="permissions" value="{permission.pk}"' in html


def test_the_number_of_queries_does_not_grow_with_the_rows(auditor_client, record):
    def add_entries_by_new_authors(count):
        for _number in range(count):
            author = factories.user()
            log(record.section, "wagtail.edit", user=author)
            log(author, "wagtail.edit", user=author)

    def queries_for_the_first_page():
        with CaptureQueriesContext(connection) as queries:
            assert auditor_client.get(REPORT).status_code == 200
        return len(queries)

    add_entries_by_new_authors(1)
    few = queries_for_the_first_page()
    add_entries_by_new_authors(25)
    many = queries_for_the_first_page()

    assert many == few
