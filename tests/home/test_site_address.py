"""The portal's address: the demo's Site is where `make run` serves, and every link leads there."""

import io
import json
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from wagtail.models import Site

from home import demo_content
from home.checks import check_site_url
from home.models import ArticlePage
from home.site_address import point_site_at
from push.sending import notification
from syndication import excerpts
from syndication.models import ChannelAccount
from syndication.publication import publication_of
from tests import factories

pytestmark = pytest.mark.django_db

PORTAL = "http://127.0.0.1:8000"
PUBLIC = "https://portal.musterstadt.example"
ADDRESS = re.compile(r"""(?:https?://|//)[^\s"'<>]+""")


def load_demo():
    factories.wagtail_roots()
    call_command("load_demo", "--quiet-logins", stdout=io.StringIO())


def addresses(text):
    return ADDRESS.findall(text)


def assert_on_the_portal(urls):
    assert urls
    for url in urls:
        assert url.startswith(f"{PORTAL}/"), url
        assert "localhost" not in url, url


@pytest.fixture
def demo(settings):
    settings.WAGTAILADMIN_BASE_URL = PORTAL
    load_demo()


def test_the_demo_site_is_where_the_portal_is_served_and_follows_a_new_address(demo, settings):
    site = Site.objects.get(is_default_site=True)
    assert (site.hostname, site.port) == ("127.0.0.1", 8000)
    assert site.root_url == PORTAL

    settings.WAGTAILADMIN_BASE_URL = PUBLIC
    load_demo()

    moved = Site.objects.get(is_default_site=True)
    assert moved.pk == site.pk and moved.root_page_id == site.root_page_id
    assert (moved.hostname, moved.port) == ("portal.musterstadt.example", 443)
    assert moved.root_url == PUBLIC


def test_every_link_of_a_released_article_leads_to_the_portal(demo, client):
    article = ArticlePage.objects.live().filter(kind=ArticlePage.Kind.PRESS_RELEASE).first()
    accounts = {account.network: account for account in ChannelAccount.objects.all()}

    # The excerpt the editor starts from, and those the demo wrote for the article in review.
    url = excerpts.page_url(article.get_parent(), article.slug)
    default = excerpts.default_text(accounts["maillist"], article.title, article.teaser, url)
    assert_on_the_portal(addresses(default))
    waiting = ArticlePage.objects.get(slug=demo_content.ARTICLE_IN_REVIEW["slug"])
    submitted = waiting.current_workflow_task_state.revision.as_object()
    assert_on_the_portal([url for excerpt in submitted.excerpts.all() for url in addresses(excerpt.text)])

    publication = publication_of(article)
    assert publication.url == url
    assert_on_the_portal([publication.url, *(image.url for image in publication.images)])

    mail = (
        accounts["press"].channel().mail("release", "Zur Veröffentlichung.", publication, "<1@test.invalid>")
    )
    (html, _type) = mail.alternatives[0]
    assert publication.url in mail.body and f'href="{publication.url}"' in html
    assert f'href="{publication.images[0].url}"' in html
    assert_on_the_portal(addresses(mail.body) + addresses(html))

    payload = json.loads(notification(publication, article.teaser))
    assert_on_the_portal([payload["url"]])

    rss = client.get(reverse("feeds:portal", args=["rss"])).content.decode()
    links = re.findall(r"<link>([^<]+)</link>", rss) + re.findall(r'<enclosure url="([^"]+)"', rss)
    assert url in links
    assert_on_the_portal(links)
    assert "localhost" not in rss


# The start-up check in production


@pytest.fixture
def production(settings):
    """Production settings over a portal whose Site still has the development address."""
    factories.home_page()
    point_site_at(Site.objects.get(is_default_site=True), PORTAL)
    settings.CHECK_SITE_ADDRESS = True
    settings.WAGTAILADMIN_BASE_URL = PUBLIC
    return settings


def test_production_refuses_a_site_that_is_not_the_configured_address(production):
    (error,) = check_site_url(None)

    assert error.id == "stadtfunk.E007"
    assert PORTAL in error.msg and PUBLIC in error.msg
    assert "manage.py set_site_url" in error.hint


def test_set_site_url_gives_the_site_the_configured_address(production):
    out = io.StringIO()
    call_command("set_site_url", stdout=out)

    assert Site.objects.get(is_default_site=True).root_url == PUBLIC
    assert f"The default Site is now {PUBLIC}." in out.getvalue()
    assert check_site_url(None) == []


def test_production_refuses_a_portal_on_this_machine_even_when_the_site_agrees(production):
    production.WAGTAILADMIN_BASE_URL = "http://localhost"
    call_command("set_site_url", stdout=io.StringIO())

    (error,) = check_site_url(None)

    assert error.id == "stadtfunk.E006"
    assert "http://localhost" in error.msg


def test_production_refuses_an_address_a_site_cannot_hold(production):
    production.WAGTAILADMIN_BASE_URL = "https://portal.musterstadt.example:8443"

    (error,) = check_site_url(None)

    assert error.id == "stadtfunk.E005"


def test_development_serves_on_this_machine(production):
    production.CHECK_SITE_ADDRESS = False
    production.WAGTAILADMIN_BASE_URL = PORTAL

    assert check_site_url(None) == []
