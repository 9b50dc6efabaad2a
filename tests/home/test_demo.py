"""The Musterstadt demo: complete, with progress, and unchanged by a second run."""

import io

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from wagtail.models import Site

from home import demo_content
from home.management.commands.load_demo import SANDBOX_CREDENTIALS
from home.models import ArticlePage, HomePage, PortalSettings, SectionPage, StandardPage
from sandbox import mastodon as mastodon_sandbox
from sandbox import x_api as x_sandbox
from syndication.channels import channel_class
from syndication.channels.maillist import MAX_LENGTH as MAIL_MAX_LENGTH
from syndication.channels.mastodon import DEFAULT_MAX_CHARACTERS
from syndication.channels.newsletter import MAX_LENGTH as NEWSLETTER_MAX_LENGTH
from syndication.channels.webpush import WebPushChannel
from syndication.channels.x import XChannel
from syndication.forms import media_file
from syndication.models import ChannelAccount, Delivery
from tests import factories
from tests.conftest import ROOT

PROCFILE = ROOT / "Procfile.dev"

pytestmark = pytest.mark.django_db


def load_demo():
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def snapshot():
    """Row count and highest primary key of every table: any change shows."""
    state = {}
    for model in apps.get_models():
        queryset = model.objects.all()
        state[model._meta.label] = (
            queryset.count(),
            queryset.order_by("-pk").values_list("pk", flat=True).first(),
        )
    return state


@pytest.fixture
def demo():
    # After a transactional test's flush, Wagtail's own root page must be made again, as migrate made it.
    factories.wagtail_roots()
    return load_demo()


def test_demo_builds_musterstadt(demo):
    site = Site.objects.get(is_default_site=True)
    assert isinstance(site.root_page.specific, HomePage)
    sections = set(SectionPage.objects.live().values_list("title", flat=True))
    assert sections == {"Rathaus", "Bürgerservice", "Kultur", "Verkehr", "Presse"}
    articles = ArticlePage.objects.live()
    assert articles.count() >= 20
    assert all(article.main_image_id and article.main_image_alt for article in articles)
    assert articles.filter(kind=ArticlePage.Kind.PRESS_RELEASE).exists()
    portal_settings = PortalSettings.for_site(site)
    titles = {portal_settings.imprint_page.title, portal_settings.privacy_page.title}
    assert titles == {"Impressum", "Datenschutzerklärung"}
    assert portal_settings.accessibility_page.title == "Erklärung zur Barrierefreiheit"
    assert StandardPage.objects.live().count() == 3


def test_demo_creates_one_user_per_group(demo):
    User = get_user_model()
    expected = {
        "Redaktion Rathaus",
        "Redaktion Bürgerservice",
        "Redaktion Kultur",
        "Redaktion Verkehr",
        "Redaktion Presse",
        "Freigabe",
        "Moderation",
        "Chefredaktion",
        "Administration",
    }
    for group_name in expected:
        assert User.objects.filter(groups__name=group_name).count() == 1, group_name
    assert User.objects.get(username="admin").is_superuser
    assert not User.objects.get(username="redaktion-kultur").is_superuser


def test_demo_shows_progress_and_the_logins(demo):
    assert "[1/7]" in demo and "[7/7]" in demo
    assert "Artikel 24/24" in demo
    assert "redaktion-kultur" in demo
    assert "http://127.0.0.1:8000/admin/" in demo


def test_demo_has_the_citys_accounts_on_the_local_stand_ins(demo):
    accounts = {account.network: account for account in ChannelAccount.objects.all()}
    networks = {"mastodon", "x", "facebook", "bluesky", "flickr", "youtube"}
    assert set(accounts) == networks | {"newsletter", "webpush", "press", "maillist"}
    assert accounts["mastodon"].base_url == "http://127.0.0.1:8602"
    assert accounts["mastodon"].credentials == {"access_token": mastodon_sandbox.DEFAULT_TOKEN}
    assert accounts["x"].base_url == "http://127.0.0.1:8601"
    assert accounts["x"].credentials == {"access_token": x_sandbox.DEFAULT_TOKEN}
    # Each stand-in of `make run` on its own port, the account holding the stand-in's fixed credentials.
    ports = {"facebook": 8604, "bluesky": 8605, "flickr": 8606, "youtube": 8607}
    for network, port in ports.items():
        assert accounts[network].base_url == f"http://127.0.0.1:{port}"
        assert accounts[network].credentials == SANDBOX_CREDENTIALS[network]
        assert f"--port {port}" in PROCFILE.read_text()
    editors = get_user_model().objects.filter(username__startswith="redaktion-")
    for account in accounts.values():
        assert account.name == {
            "newsletter": "Newsletter Musterstadt",
            "webpush": "Push-Benachrichtigungen",
            "press": "Presseverteiler Musterstadt",
            "maillist": "Verteiler Stadtrat",
        }.get(account.network, "Stadt Musterstadt")
        routed = 1 if account.network in {"press", "maillist"} else len(demo_content.SECTIONS)
        assert account.sections.count() == routed, account
        assert all(account.usable_by(editor) for editor in editors), account


def test_demo_has_the_press_and_council_lists_on_the_mail_stand_in(demo):
    press = ChannelAccount.objects.get(network="press")
    council = ChannelAccount.objects.get(network="maillist")
    for account in (press, council):
        assert account.base_url == "smtp://127.0.0.1:8625"
        assert all(address.endswith(".example") for address in account.recipient_list())
        assert account.channel().recipients == tuple(account.recipient_list())
    assert len(press.recipient_list()) == 3
    assert [section.slug for section in press.sections.all()] == ["presse"]
    assert [section.slug for section in council.sections.all()] == ["rathaus"]


def test_waiting_article_brings_one_excerpt_per_account_into_review(demo):
    article = ArticlePage.objects.get(slug=demo_content.ARTICLE_IN_REVIEW["slug"])
    assert not article.live
    submitted = article.current_workflow_task_state.revision.as_object()
    excerpts = {excerpt.account.network: excerpt for excerpt in submitted.excerpts.all()}
    assert set(excerpts) == set(ChannelAccount.objects.values_list("network", flat=True))
    # The newer networks know their limits without asking (Mastodon asks its instance).
    limits = {
        network: excerpts[network].account.channel().limits().max_length
        for network in ("facebook", "bluesky", "flickr", "youtube")
    } | {
        "mastodon": DEFAULT_MAX_CHARACTERS,
        "x": XChannel.max_length,
        "newsletter": NEWSLETTER_MAX_LENGTH,
        "webpush": WebPushChannel.max_length,
        "press": MAIL_MAX_LENGTH,
        "maillist": MAIL_MAX_LENGTH,
    }
    for network, excerpt in excerpts.items():
        if network == "webpush":
            # A push notification brings the page's title and link itself; its text is the teaser.
            assert excerpt.text == article.teaser
            continue
        if network == "press":
            # The press mail carries the whole release; its text is the cover note.
            assert excerpt.text == demo_content.PRESS_COVER_NOTE
            continue
        assert article.title in excerpt.text
        assert article.teaser in excerpt.text
        assert excerpt.text.endswith(article.url)
        assert excerpt.account.channel().count(excerpt.text) <= limits[network], network
    # Its gallery and video suit every network it goes to, the photo and video networks included.
    images = [media_file(submitted.main_image)] + [
        media_file(item.image) for item in submitted.gallery_images.all()
    ]
    video = media_file(submitted.video)
    assert len(images) == 4
    for network in excerpts:
        assert channel_class(network).media_problems(images, video) == [], network


def test_published_demo_articles_have_nothing_to_fan_out(demo):
    for article in ArticlePage.objects.live():
        assert list(article.get_latest_revision_as_object().excerpts.all()) == [], article.title
    assert not Delivery.objects.exists()


def test_second_run_changes_nothing(demo):
    before = snapshot()
    output = load_demo()
    assert snapshot() == before
    assert "nichts geändert" in output


def test_demo_pages_render(demo, client):
    for page in [*ArticlePage.objects.live()[:3], *SectionPage.objects.live(), *StandardPage.objects.live()]:
        assert client.get(page.url).status_code == 200, page.url
    assert client.get("/").status_code == 200
