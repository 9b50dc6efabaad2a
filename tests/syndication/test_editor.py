"""Excerpts in the page editor: routed defaults, the live counter and preview, and the checks on submit."""

import re
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.urls import reverse
from playwright.sync_api import expect
from wagtail.test.utils.form_data import inline_formset

from home.models import ArticlePage
from sandbox.x_api import DEFAULT_TOKEN
from syndication.excerpts import default_text, routed_accounts
from syndication.models import ChannelAccount, PageExcerpt
from tests import factories
from tests.editorial.admin_forms import article_form_data
from tests.editorial.test_release_in_browser import log_in

pytestmark = pytest.mark.django_db

LINK = "https://www.musterstadt.de/kultur/museumsnacht-2027/programm?ab=18-uhr"
INSTANCE_V2 = "^/api/v2/instance/?$"


@pytest.fixture(autouse=True)
def fresh_limits():
    # Limits are cached between requests; each test asks its own stand-ins.
    cache.clear()
    yield
    cache.clear()


def account(network, name, base_url, token, *, groups, sections=(), tags="", enabled=True):
    created = ChannelAccount(network=network, name=name, base_url=base_url, tags=tags, enabled=enabled)
    created.set_credentials({"access_token": token})
    created.save()
    created.groups.set(groups)
    created.sections.set(sections)
    return created


@pytest.fixture
def accounts(newsroom, mastodon, x_api):  # noqa: F811
    culture_editors = [newsroom.groups["Redaktion Kultur"]]
    culture = [newsroom.sections["kultur"]]
    return SimpleNamespace(
        mastodon=account(
            "mastodon",
            "Stadt Musterstadt",
            mastodon.base_url,
            mastodon.token,
            groups=culture_editors,
            sections=culture,
        ),
        x=account(
            "x", "Kultur Musterstadt", x_api.url, DEFAULT_TOKEN, groups=culture_editors, sections=culture
        ),
        press=account(
            "x",
            "Pressestelle",
            x_api.url,
            DEFAULT_TOKEN,
            groups=[newsroom.groups["Redaktion Presse"]],
            sections=culture,
        ),
        museums=account(
            "x",
            "Museen Musterstadt",
            x_api.url,
            DEFAULT_TOKEN,
            groups=culture_editors,
            tags="Museum, Ausstellung",
        ),
        archive=account(
            "mastodon",
            "Archiv",
            mastodon.base_url,
            mastodon.token,
            groups=culture_editors,
            sections=culture,
            enabled=False,
        ),
    )


def add_url(section):
    return reverse("wagtailadmin_pages:add", args=("home", "articlepage", section.pk))


def edit_url(article):
    return reverse("wagtailadmin_pages:edit", args=(article.pk,))


def excerpts(*items):
    return inline_formset([{"id": "", **item} for item in items])


def measure(client, account, text):
    return client.post(reverse("syndication_excerpt_length"), {"account": account.pk, "text": text})


def mastodon_limit(mastodon):
    return mastodon.observer.instance_v2()["configuration"]["statuses"]["max_characters"]


# -- defaults from routing --


def test_routing_takes_the_section_or_a_tag_and_only_accounts_the_user_may_use(newsroom, accounts):  # noqa: F811
    editor = newsroom.users.redaktion_kultur

    assert routed_accounts(editor, section=newsroom.sections["kultur"]) == [accounts.mastodon, accounts.x]
    assert routed_accounts(editor, tags=["museum"]) == [accounts.museums]
    assert routed_accounts(editor, section=newsroom.sections["presse"], tags=[" AUSSTELLUNG "]) == [
        accounts.museums
    ]
    assert routed_accounts(newsroom.users.admin, section=newsroom.sections["kultur"]) == [
        accounts.mastodon,
        accounts.x,
        accounts.press,
    ]


def test_a_new_article_starts_with_one_excerpt_per_usable_account_of_its_section(
    client,
    newsroom,  # noqa: F811
    accounts,
):
    client.force_login(newsroom.users.redaktion_kultur)

    response = client.get(add_url(newsroom.sections["kultur"]))

    formset = response.context["form"].formsets["excerpts"]
    assert [form.initial["account"] for form in formset.forms] == [accounts.mastodon.pk, accounts.x.pk]
    html = response.content.decode()
    assert f'<option value="{accounts.x.pk}" selected>' in html
    assert 'name="excerpts-TOTAL_FORMS" value="2"' in html


def test_saving_a_new_article_writes_default_texts_and_adds_the_accounts_its_tags_route_to(
    client,
    newsroom,  # noqa: F811
    accounts,
):
    client.force_login(newsroom.users.redaktion_kultur)
    new = ArticlePage(
        title="Museumsnacht 2027",
        slug="museumsnacht-2027",
        teaser="Am Samstag öffnen alle Museen bis Mitternacht.",
        main_image=factories.image(),
        main_image_alt="Das Stadtmuseum bei Nacht",
    )
    data = article_form_data(
        new,
        tags="Museum",
        excerpts=excerpts(
            {"account": accounts.mastodon.pk, "text": ""},
            {"account": accounts.x.pk, "text": "", "DELETE": "1"},
        ),
    )

    response = client.post(add_url(newsroom.sections["kultur"]), data)

    assert response.status_code == 302
    article = ArticlePage.objects.get(slug="museumsnacht-2027")
    expected = (
        "Museumsnacht 2027\n\nAm Samstag öffnen alle Museen bis Mitternacht.\n\n"
        "http://localhost/kultur/museumsnacht-2027/"
    )
    saved = {excerpt.account: excerpt.text for excerpt in article.excerpts.all()}
    assert saved == {accounts.mastodon: expected, accounts.museums: expected}
    revision_excerpts = article.get_latest_revision().content["excerpts"]
    assert sorted(excerpt["account"] for excerpt in revision_excerpts) == sorted(
        [accounts.mastodon.pk, accounts.museums.pk]
    )


def test_a_default_text_gives_up_teaser_words_until_it_fits(accounts):
    teaser = " ".join(["Nachtführung"] * 40)

    text = default_text(accounts.x, "Museumsnacht 2027", teaser, "https://www.musterstadt.de/kultur/nacht/")

    assert accounts.x.channel().count(text) <= 280
    assert text.startswith("Museumsnacht 2027\n\nNachtführung")
    assert "…\n\nhttps://www.musterstadt.de/kultur/nacht/" in text


# -- the counter endpoint --


@pytest.mark.parametrize(
    ("network", "text", "count"),
    [
        ("x", "Hallo Musterstadt", 17),
        ("x", f"Mehr: {LINK}", 6 + 23),
        ("x", "Museumsnacht 😀", 13 + 2),
        ("x", "日本語", 6),
        ("mastodon", f"Mehr: {LINK}", 6 + 23),
        ("mastodon", "Museumsnacht 🎉", 14),
        ("mastodon", "東京都庁", 4),
    ],
)
def test_the_counter_counts_by_the_channels_rule(client, newsroom, accounts, mastodon, network, text, count):  # noqa: F811
    client.force_login(newsroom.users.redaktion_kultur)
    limit = 280 if network == "x" else mastodon_limit(mastodon)

    response = measure(client, getattr(accounts, network), text)

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["limit"], body["overflow"]) == (count, limit, 0)
    assert "23" in body["counting_rule"]
    assert f"noch {limit - count} Zeichen frei" in body["message"]


def test_the_counter_reports_the_overflow(client, newsroom, accounts):  # noqa: F811
    client.force_login(newsroom.users.redaktion_kultur)

    body = measure(client, accounts.x, "日" * 141).json()

    assert (body["count"], body["limit"], body["overflow"]) == (282, 280, 2)
    assert body["message"] == "Zu lang für Kultur Musterstadt (X (Twitter)): 2 Zeichen zu viel."


def test_the_counter_asks_the_instance_for_its_limit_only_once(client, newsroom, accounts, mastodon):  # noqa: F811
    client.force_login(newsroom.users.redaktion_kultur)
    limit = mastodon_limit(mastodon)
    measure(client, accounts.mastodon, "Erster Entwurf")
    mastodon.sandbox.fault(
        methods=["GET"], path_regex=INSTANCE_V2, effect={"type": "status", "status": 503}, count=10
    )

    response = measure(client, accounts.mastodon, "Zweiter Entwurf")

    assert response.status_code == 200
    assert response.json()["limit"] == limit


def test_the_counter_refuses_an_account_the_users_groups_may_not_use(client, newsroom, accounts):  # noqa: F811
    client.force_login(newsroom.users.redaktion_kultur)

    response = measure(client, accounts.press, "Haushalt beschlossen")

    assert response.status_code == 403
    assert "count" not in response.json()


def test_the_counter_is_closed_to_anonymous_visitors(client, accounts):
    response = measure(client, accounts.x, "Haushalt beschlossen")

    assert response.status_code in (302, 403)
    assert "count" not in response.content.decode()


# -- checks on submit --


@pytest.mark.parametrize("network", ["mastodon", "x"])
def test_an_excerpt_over_the_limit_is_refused_naming_the_account_and_the_overflow(
    client,
    newsroom,  # noqa: F811
    accounts,
    mastodon,
    network,
):
    article = newsroom.article["kultur"]
    revisions = article.revisions.count()
    channel_account = getattr(accounts, network)
    if network == "x":
        text, length, limit = "日" * 141, 282, 280
    else:
        limit = mastodon_limit(mastodon)
        text, length = "a" * (limit + 3), limit + 3
    client.force_login(newsroom.users.redaktion_kultur)

    data = article_form_data(
        article, title="Geändert", excerpts=excerpts({"account": channel_account.pk, "text": text})
    )
    data["action-submit"] = "1"

    response = client.post(edit_url(article), data)

    assert response.status_code == 200
    message = f"Zu lang für {channel_account}: {length} von {limit} Zeichen, {length - limit} zu viel."
    assert message in response.content.decode()
    assert article.revisions.count() == revisions
    assert not PageExcerpt.objects.filter(page=article).exists()


def test_a_draft_with_an_excerpt_over_the_limit_is_saved(client, newsroom, accounts):  # noqa: F811
    article = newsroom.article["kultur"]
    client.force_login(newsroom.users.redaktion_kultur)
    text = "日" * 141

    response = client.post(
        edit_url(article),
        article_form_data(
            article, title="Geändert", excerpts=excerpts({"account": accounts.x.pk, "text": text})
        ),
    )

    assert response.status_code == 302
    article.refresh_from_db()
    draft = article.get_latest_revision_as_object()
    assert [(excerpt.account, excerpt.text) for excerpt in draft.excerpts.all()] == [(accounts.x, text)]


def test_the_page_form_refuses_an_account_the_editors_groups_may_not_use(newsroom, accounts):  # noqa: F811
    article = newsroom.article["kultur"]
    form_class = ArticlePage.get_edit_handler().get_form_class()
    data = article_form_data(article, excerpts=excerpts({"account": accounts.press.pk, "text": "Haushalt"}))

    form = form_class(
        data,
        instance=article,
        parent_page=newsroom.sections["kultur"],
        for_user=newsroom.users.redaktion_kultur,
    )

    assert not form.is_valid()
    assert form.formsets["excerpts"].forms[0].errors["account"] == [
        "Ihre Gruppen dürfen nicht an „Pressestelle (X (Twitter))“ senden."
    ]


def test_a_crafted_post_with_a_forbidden_account_saves_nothing(client, newsroom, accounts):  # noqa: F811
    article = newsroom.article["kultur"]
    revisions = article.revisions.count()
    client.force_login(newsroom.users.redaktion_kultur)

    response = client.post(
        edit_url(article),
        article_form_data(
            article, title="Geändert", excerpts=excerpts({"account": accounts.press.pk, "text": "Haushalt"})
        ),
    )

    assert response.status_code == 200
    assert "Ihre Gruppen dürfen nicht an „Pressestelle (X (Twitter))“ senden." in response.content.decode()
    assert article.revisions.count() == revisions
    assert not PageExcerpt.objects.filter(page=article).exists()
    article.refresh_from_db()
    assert article.get_latest_revision().content["title"] == "Museumsnacht"


# -- in the browser --


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_counter_follows_typing_and_says_when_the_text_is_too_long(
    newsroom,  # noqa: F811
    accounts,
    browser_page,
    live_server,
):
    article = newsroom.article["kultur"]
    article.excerpts.create(account=accounts.x, text="Museumsnacht")
    article.save_revision()
    page = browser_page

    log_in(page, newsroom.users.redaktion_kultur.username)
    page.goto(edit_url(article))
    page.get_by_role("tab", name="Kanäle").click()
    text = page.locator("#id_excerpts-0-text")
    counter = page.locator("#id_excerpts-0-text-syndication-counter")
    expect(counter).to_contain_text("12 / 280")
    expect(counter).to_have_attribute("aria-live", "polite")

    text.fill("Museumsnacht 日本")
    expect(counter).to_contain_text("17 / 280")
    expect(page.locator("#id_excerpts-0-text-syndication .sf-excerpt__preview")).to_have_text(
        "Museumsnacht 日本"
    )

    text.fill("日" * 141)
    expect(counter).to_contain_text("282 / 280")
    expect(counter).to_contain_text("2 Zeichen zu viel")
    expect(counter).to_have_class(re.compile("sf-excerpt__counter--over"))
    expect(text).to_have_attribute("aria-invalid", "true")
    # Wagtail's own user avatars come from Gravatar (a portal setting); the counter stays on the portal.
    foreign = [url for url in page.requested_urls if not url.startswith(live_server.url)]
    assert [url for url in foreign if "gravatar.com/avatar/" not in url] == []
    assert any(url.endswith(reverse("syndication_excerpt_length")) for url in page.requested_urls)
