"""The "Verteilung" overview: every released page, its copy on every account; filtered, sorted, exported, per role."""

import csv
import io
import re
import time
from datetime import timedelta
from types import SimpleNamespace

import openpyxl
import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect
from wagtail.models import Collection

from editorial.sections import grant_editing
from sandbox.x_api import DEFAULT_TOKEN
from syndication.delivery import deliver
from syndication.models import ChannelAccount, Delivery
from tests import factories
from tests.conftest import axe_violations, describe_violations, log_in
from tests.syndication import dashboard_data
from tests.syndication.fanout import city_accounts, delivery_of, mastodon_statuses, release

# Queries of one list page for an editor, measured: session, user, permissions, the
# admin's menu, header and banners, the filters' choices; then the count, the rows,
# their copies, the accounts and the sections. The same for 20 rows, 50 and 10,000 pages.
LIST_QUERIES = 19
SCALE_PAGES = 10_000


def dashboard_url(**params):
    url = reverse("syndication_dashboard")
    if params:
        url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
    return url


@pytest.fixture
def desk(newsroom):
    """The newsroom plus a traffic section with its own editors, three accounts and a released page per section."""
    access_admin = Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    traffic = factories.section_page(newsroom.home, title="Verkehr", slug="verkehr")
    traffic_editors = Group.objects.create(name="Redaktion Verkehr")
    traffic_editors.permissions.add(access_admin)
    grant_editing(traffic_editors, traffic, Collection.get_first_root_node().add_child(name="Verkehr"))
    mastodon = ChannelAccount.objects.create(network="mastodon", name="Stadt auf Mastodon")
    x = ChannelAccount.objects.create(network="x", name="Stadt auf X")
    press = ChannelAccount.objects.create(network="press", name="Presseverteiler")
    road = factories.article_page(traffic, title="Vollsperrung der Lindenallee", slug="lindenallee")
    return SimpleNamespace(
        newsroom=newsroom,
        users=newsroom.users,
        culture=newsroom.sections["kultur"],
        traffic=traffic,
        museum=newsroom.article["kultur"],
        budget=newsroom.article["presse"],
        road=road,
        traffic_editor=factories.user("redaktion-verkehr", [traffic_editors]),
        mastodon=mastodon,
        x=x,
        press=press,
    )


def copy(page, account, state, **fields):
    fields.setdefault("text", f"{page.title} – jetzt im Portal.")
    if state == Delivery.State.POSTED:
        fields.setdefault("remote_id", f"{page.pk}-{account.pk}")
        fields.setdefault("remote_url", f"https://social.musterstadt.example/@stadt/{page.pk}{account.pk}")
        fields.setdefault("posted_at", timezone.now())
    return Delivery.objects.create(page=page, account=account, state=state, **fields)


def listing(response):
    """The table as a reader meets it: column headings, and per row its title, links and cells by heading."""
    assert response.status_code == 200
    soup = BeautifulSoup(response.content.decode(), "html.parser")
    table = soup.select_one(".sf-distribution table")
    if table is None:
        return SimpleNamespace(headings=[], rows=[], soup=soup, table=None)
    headings = [th.get_text(" ", strip=True) for th in table.thead.find_all("th", scope="col")]
    rows = []
    for tr in table.tbody.find_all("tr"):
        heading = tr.find("th", scope="row")
        cells = tr.find_all("td")
        rows.append(
            SimpleNamespace(
                title=heading.a.get_text(strip=True),
                links=[a["href"] for a in heading.find_all("a")],
                cells=dict(zip(headings[1:], cells, strict=True)),
            )
        )
    return SimpleNamespace(headings=headings, rows=rows, soup=soup, table=table)


def cell(row, account):
    """The cell under the account's heading: its name, then its network."""
    return row.cells[f"{account.name} {account.get_network_display()}"]


def titles(response):
    return [row.title for row in listing(response).rows]


# What a reader sees in a cell


def test_a_released_page_shows_its_posted_copy_with_the_link_and_the_failed_one_with_the_networks_reason(
    newsroom, mastodon, x_api, client
):
    accounts = city_accounts(mastodon, x_api, newsroom.groups["Redaktion Kultur"])
    x_api.app.revoke(DEFAULT_TOKEN)
    article = release(newsroom.article["kultur"], accounts.values(), user=newsroom.users.admin)
    for account in accounts.values():
        deliver(delivery_of(article, account).pk)
    client.force_login(newsroom.users.redaktion_kultur)

    page = listing(client.get(dashboard_url()))

    (row,) = page.rows
    assert row.title == "Museumsnacht"
    assert row.links == [
        reverse("syndication_page_deliveries", args=[article.pk]),
        reverse("wagtailadmin_pages:edit", args=[article.pk]),
    ]
    posted = cell(row, accounts["mastodon"])
    assert "Veröffentlicht" in posted.get_text()
    assert posted.a["href"] == mastodon_statuses(mastodon)[0]["url"]
    failed = cell(row, accounts["x"])
    reason = delivery_of(article, accounts["x"]).last_error
    assert reason
    assert "Fehlgeschlagen" in failed.get_text()
    assert reason in failed.get_text(" ", strip=True)
    assert failed.a is None


def test_every_state_reads_as_words_beside_an_icon(desk, client):
    states = {
        "Veröffentlicht": {"state": Delivery.State.POSTED},
        "Aktualisiert": {"state": Delivery.State.POSTED, "action": Delivery.Action.UPDATE},
        "Wartet": {"state": Delivery.State.PENDING},
        "Wird gesendet": {"state": Delivery.State.SENDING},
        "Fehlgeschlagen": {"state": Delivery.State.FAILED, "last_error": "Status is over 500 characters"},
        "Braucht Aufmerksamkeit": {"state": Delivery.State.NEEDS_ATTENTION},
        "Zurückgezogen": {"state": Delivery.State.RETRACTED},
        "Von Hand entfernen": {"state": Delivery.State.REMOVE_BY_HAND, "remote_url": "https://x.example/1"},
    }
    accounts = {}
    for label, fields in states.items():
        accounts[label] = ChannelAccount.objects.create(network="mastodon", name=f"Konto {label}")
        copy(desk.museum, accounts[label], **fields)
    client.force_login(desk.users.admin)

    (row,) = listing(client.get(dashboard_url())).rows

    for label, account in accounts.items():
        shown = cell(row, account)
        state = shown.find(class_="sf-state")
        assert state.get_text(strip=True) == label
        assert state.find("svg") is not None
    assert cell(row, accounts["Veröffentlicht"]).a["href"].startswith("https://social.musterstadt.example/")
    assert "Status is over 500 characters" in cell(row, accounts["Fehlgeschlagen"]).get_text()
    assert cell(row, accounts["Von Hand entfernen"]).a["href"] == "https://x.example/1"


def test_only_released_pages_are_rows_and_only_accounts_with_copies_are_columns(desk, client):
    copy(desk.museum, desk.mastodon, Delivery.State.POSTED)
    copy(desk.road, desk.x, Delivery.State.PENDING)
    client.force_login(desk.users.admin)

    page = listing(client.get(dashboard_url(ordering="title")))

    # The budget page went nowhere, and nothing went to the press list.
    assert [row.title for row in page.rows] == ["Museumsnacht", "Vollsperrung der Lindenallee"]
    assert page.headings[4:] == ["Stadt auf Mastodon Mastodon", "Stadt auf X X (Twitter)"]
    assert "keine Kopie" in cell(page.rows[0], desk.x).get_text()
    assert page.table.caption.get_text(" ", strip=True).startswith("Kopien von 2 freigegebenen Seiten")


# Filters, order, pages


@pytest.fixture
def spread(desk):
    """Three released pages in two sections with copies in different states on different days."""
    now = timezone.now()
    copy(desk.museum, desk.mastodon, Delivery.State.POSTED)
    copy(desk.museum, desk.x, Delivery.State.FAILED, last_error="Unauthorized")
    copy(desk.road, desk.x, Delivery.State.POSTED)
    copy(desk.budget, desk.press, Delivery.State.NEEDS_ATTENTION)
    # auto_now sets updated_at on save; the past is written with update().
    Delivery.objects.filter(page=desk.road).update(updated_at=now - timedelta(days=10))
    Delivery.objects.filter(page=desk.budget).update(updated_at=now - timedelta(days=3))
    desk.road.__class__.objects.filter(pk=desk.road.pk).update(last_published_at=now - timedelta(days=10))
    return desk


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Museumsnacht", "Haushalt beschlossen", "Vollsperrung der Lindenallee"]),
        ({"section": "traffic"}, ["Vollsperrung der Lindenallee"]),
        ({"account": "x"}, ["Museumsnacht", "Vollsperrung der Lindenallee"]),
        ({"state": "failed"}, ["Museumsnacht"]),
        ({"state": "attention"}, ["Haushalt beschlossen"]),
        # The state of the copy on that account: the museum's X copy failed, its Mastodon copy is out.
        ({"state": "posted", "account": "x"}, ["Vollsperrung der Lindenallee"]),
        ({"state": "posted", "account": "mastodon"}, ["Museumsnacht"]),
        ({"changed_after": 5}, ["Museumsnacht", "Haushalt beschlossen"]),
        ({"changed_before": 5}, ["Vollsperrung der Lindenallee"]),
        ({"released_before": 5}, ["Vollsperrung der Lindenallee"]),
    ],
)
def test_filters_narrow_the_rows(spread, client, params, expected):
    today = timezone.localdate()
    query = {}
    for name, value in params.items():
        if name in {"section", "account"}:
            query[name] = getattr(spread, value).pk
        elif name.endswith("_after"):
            query[f"{name.removesuffix('_after')}_from"] = (today - timedelta(days=value)).isoformat()
        elif name.endswith("_before"):
            query[f"{name.removesuffix('_before')}_to"] = (today - timedelta(days=value)).isoformat()
        else:
            query[name] = value
    client.force_login(spread.users.admin)

    assert titles(client.get(dashboard_url(**query))) == expected


def test_filtering_by_account_shows_only_that_accounts_column(spread, client):
    client.force_login(spread.users.admin)

    page = listing(client.get(dashboard_url(account=spread.x.pk)))

    assert page.headings[4:] == ["Stadt auf X X (Twitter)"]
    museum = next(row for row in page.rows if row.title == "Museumsnacht")
    assert "Unauthorized" in cell(museum, spread.x).get_text()


def test_rows_sort_by_title_and_by_last_change(spread, client):
    client.force_login(spread.users.admin)
    by_title = ["Haushalt beschlossen", "Museumsnacht", "Vollsperrung der Lindenallee"]

    assert titles(client.get(dashboard_url(ordering="title"))) == by_title
    assert titles(client.get(dashboard_url(ordering="-title"))) == by_title[::-1]
    assert titles(client.get(dashboard_url(ordering="last_change"))) == [
        "Vollsperrung der Lindenallee",
        "Haushalt beschlossen",
        "Museumsnacht",
    ]
    # The newest change first when nothing is asked for; an unknown order changes nothing.
    assert titles(client.get(dashboard_url())) == titles(client.get(dashboard_url(ordering="-last_change")))
    assert titles(client.get(dashboard_url(ordering="password"))) == titles(client.get(dashboard_url()))


def test_the_list_shows_fifty_rows_a_page(desk, client):
    accounts = dashboard_data.channel_accounts(2)
    dashboard_data.released_pages(desk.traffic, 55, accounts)
    client.force_login(desk.users.admin)

    first = titles(client.get(dashboard_url(ordering="title")))
    second = titles(client.get(dashboard_url(ordering="title", p=2)))

    assert len(first) == 50
    assert len(second) == 5
    assert not set(first) & set(second)
    assert sorted(first + second) == first + second


# The export


def csv_rows(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_export_has_a_row_per_page_and_a_column_per_account_with_state_and_link(spread, client):
    client.force_login(spread.users.admin)
    museum_copy = delivery_of(spread.museum, spread.mastodon)

    rows = csv_rows(client.get(dashboard_url(ordering="title", export="csv")))

    assert rows[0] == [
        "Seite",
        "Themenbereich",
        "Zuletzt freigegeben (UTC)",
        "Letzte Änderung (UTC)",
        "Stadt auf Mastodon (Mastodon)",
        "Presseverteiler (Presseverteiler)",
        "Stadt auf X (X (Twitter))",
    ]
    by_title = {row[0]: row for row in rows[1:]}
    assert list(by_title) == ["Haushalt beschlossen", "Museumsnacht", "Vollsperrung der Lindenallee"]
    assert by_title["Museumsnacht"][1] == "Kultur"
    assert by_title["Museumsnacht"][4] == f"Veröffentlicht – {museum_copy.remote_url}"
    assert by_title["Museumsnacht"][5] == ""
    assert by_title["Museumsnacht"][6] == "Fehlgeschlagen – Unauthorized"
    assert by_title["Haushalt beschlossen"][5] == "Braucht Aufmerksamkeit"


def test_xlsx_export_holds_the_same_table(spread, client):
    client.force_login(spread.users.admin)

    response = client.get(dashboard_url(ordering="title", export="xlsx", section=spread.culture.pk))

    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][0] == "Seite"
    assert rows[0][4:] == ("Stadt auf Mastodon (Mastodon)", "Stadt auf X (X (Twitter))")
    (museum,) = rows[1:]
    assert museum[:2] == ("Museumsnacht", "Kultur")
    # Spreadsheets keep milliseconds, in UTC.
    last_change = delivery_of(spread.museum, spread.x).updated_at.replace(tzinfo=None)
    assert abs(museum[3] - last_change) < timedelta(milliseconds=1)
    assert museum[4].startswith("Veröffentlicht – https://")
    assert museum[5] == "Fehlgeschlagen – Unauthorized"


# Who sees what


def test_an_editor_sees_only_the_rows_of_their_section_also_in_the_export(spread, client):
    client.force_login(spread.users.redaktion_kultur)

    assert titles(client.get(dashboard_url())) == ["Museumsnacht"]
    # Asking for another section's rows by hand finds none.
    assert titles(client.get(dashboard_url(section=spread.traffic.pk))) == []
    assert titles(client.get(reverse("syndication_dashboard_results"))) == ["Museumsnacht"]
    exported = csv_rows(client.get(dashboard_url(export="csv")))
    assert [row[0] for row in exported[1:]] == ["Museumsnacht"]
    assert not any("Verkehr" in value or "Lindenallee" in value for row in exported for value in row)

    client.force_login(spread.traffic_editor)
    assert titles(client.get(dashboard_url())) == ["Vollsperrung der Lindenallee"]


def test_the_menu_leads_editors_to_the_overview_and_not_others(desk, client):
    client.force_login(desk.users.redaktion_kultur)
    assert reverse("syndication_dashboard") in client.get(reverse("wagtailadmin_home")).content.decode()

    client.force_login(desk.users.moderation)
    assert reverse("syndication_dashboard") not in client.get(reverse("wagtailadmin_home")).content.decode()


def test_someone_who_edits_no_pages_is_refused(spread, client):
    client.force_login(spread.users.moderation)

    for url in (dashboard_url(), dashboard_url(export="csv"), reverse("syndication_dashboard_results")):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url == reverse("wagtailadmin_home")


def test_a_user_without_admin_access_is_sent_to_the_login(spread, client):
    client.force_login(factories.user("buerger"))

    for url in (dashboard_url(), dashboard_url(export="xlsx")):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("wagtailadmin_login"))


# Queries


def test_the_list_runs_as_many_queries_for_fifty_rows_as_for_twenty(desk, client, django_assert_num_queries):
    accounts = dashboard_data.channel_accounts(10)
    dashboard_data.released_pages(desk.culture, 20, accounts)
    client.force_login(desk.users.redaktion_kultur)

    with django_assert_num_queries(LIST_QUERIES):
        twenty = listing(client.get(dashboard_url()))
    dashboard_data.released_pages(desk.culture, 40, accounts)  # 60 pages, 50 on the first
    with django_assert_num_queries(LIST_QUERIES):
        fifty = listing(client.get(dashboard_url()))

    assert len(twenty.rows) == 20
    assert len(fifty.rows) == 50
    assert len(fifty.headings) == 4 + 10
    assert sum(bool(row.cells[heading].find("a")) for row in fifty.rows for heading in fifty.headings[4:]) > 0


def test_ten_thousand_pages_on_ten_accounts_take_the_same_queries_as_twenty(
    desk, client, django_assert_num_queries
):
    accounts = dashboard_data.channel_accounts(10)
    dashboard_data.released_pages(desk.culture, 20, accounts)
    client.force_login(desk.users.redaktion_kultur)
    with CaptureQueriesContext(connection) as few:
        listing(client.get(dashboard_url()))

    started = time.perf_counter()
    dashboard_data.released_pages(desk.culture, SCALE_PAGES - 20, accounts)
    print(f"{SCALE_PAGES:,} pages × 10 accounts written in {time.perf_counter() - started:.1f} s")

    with django_assert_num_queries(len(few.captured_queries)):
        page = listing(client.get(dashboard_url(state="failed", ordering="-last_change")))
    assert len(page.rows) == 50
    assert page.table.caption.get_text(" ", strip=True).startswith(
        f"Kopien von {SCALE_PAGES} freigegebenen Seiten"
    )
    with django_assert_num_queries(len(few.captured_queries)):
        listing(client.get(dashboard_url(ordering="title", p=200)))


# In the browser


def tab_to(page, name, limit=60):
    """Press Tab until the focused element's accessible text starts with `name`; fail if it never does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        text = page.evaluate(
            "() => (document.activeElement.getAttribute('aria-label') || document.activeElement.innerText || '').trim()"
        )
        if text.startswith(name):
            return
    pytest.fail(f"Tab never reached {name!r}")


@pytest.fixture
def shown(desk):
    """The culture editor's view: one page out on Mastodon, one whose X copy failed, and every other state."""
    reading = factories.article_page(
        desk.culture, title="Lesesommer in der Stadtbibliothek", slug="lesesommer"
    )
    copy(desk.museum, desk.mastodon, Delivery.State.POSTED)
    copy(desk.museum, desk.x, Delivery.State.POSTED, action=Delivery.Action.UPDATE)
    copy(desk.museum, desk.press, Delivery.State.REMOVE_BY_HAND, remote_url="https://presse.example/1")
    copy(reading, desk.mastodon, Delivery.State.NEEDS_ATTENTION)
    copy(reading, desk.x, Delivery.State.FAILED, last_error="Your account is suspended")
    copy(reading, desk.press, Delivery.State.RETRACTED)
    copy(desk.road, desk.press, Delivery.State.PENDING)
    return SimpleNamespace(desk=desk, reading=reading)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_overview_has_no_axe_violations_also_with_the_filters_open(shown, browser_page, axe):
    page = browser_page
    log_in(page, shown.desk.users.redaktion_kultur.username)
    page.goto(dashboard_url())
    expect(page.locator(".sf-distribution tbody tr")).to_have_count(2)

    violations = axe_violations(axe, page)
    assert violations == [], describe_violations(violations)

    page.get_by_role("button", name="Filter anzeigen").click()
    page.get_by_role("button", name="Zustand").click()
    expect(page.get_by_label("Zustand")).to_be_visible()
    violations = axe_violations(axe, page)
    assert violations == [], describe_violations(violations)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_filters_and_row_links_work_with_the_keyboard_alone(shown, browser_page):
    page = browser_page
    log_in(page, shown.desk.users.redaktion_kultur.username)
    page.goto(dashboard_url())

    tab_to(page, "Filter anzeigen")
    page.keyboard.press("Enter")
    tab_to(page, "Zustand")
    page.keyboard.press("Enter")
    tab_to(page, "---------")
    # A closed select takes the option whose label starts with the typed letter.
    page.keyboard.type("F")
    expect(page.locator(".sf-distribution tbody tr")).to_have_count(1)
    expect(page.locator(".sf-distribution tbody th")).to_contain_text("Lesesommer")
    page.keyboard.press("Escape")

    tab_to(page, "Lesesommer in der Stadtbibliothek")
    page.keyboard.press("Enter")

    expect(page).to_have_url(
        re.compile(reverse("syndication_page_deliveries", args=[shown.reading.pk]) + "$")
    )
    expect(page.locator("main")).to_contain_text("Your account is suspended")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_copy_on_its_way_turns_posted_on_screen_without_a_reload_and_the_polling_stops(shown, browser_page):
    page = browser_page
    log_in(page, shown.desk.users.admin.username)
    page.goto(dashboard_url())
    road = page.locator(".sf-distribution tbody tr", has_text="Vollsperrung der Lindenallee")
    expect(road).to_contain_text("Wartet")
    page.evaluate("window.notReloaded = true")

    # What the worker records once the press list took the mail.
    Delivery.objects.filter(page=shown.desk.road, account=shown.desk.press).update(
        state=Delivery.State.POSTED, remote_url="https://presse.example/2", posted_at=timezone.now()
    )

    expect(road).to_contain_text("Veröffentlicht", timeout=15_000)
    expect(page.locator("#sf-distribution-status")).to_contain_text("Neuer Stand: 1 Kanalzellen")
    assert page.evaluate("window.notReloaded") is True
    results_url = reverse("syndication_dashboard_results")
    polls = [url for url in page.requested_urls if results_url in url]
    page.wait_for_timeout(7_000)
    assert [url for url in page.requested_urls if results_url in url] == polls
