"""The Musterstadt demo: complete, with progress, and unchanged by a second run."""

import io

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from wagtail.models import Site

from home.models import ArticlePage, HomePage, PortalSettings, SectionPage, StandardPage

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
    assert "[1/6]" in demo and "[6/6]" in demo
    assert "Artikel 24/24" in demo
    assert "redaktion-kultur" in demo
    assert "http://127.0.0.1:8000/admin/" in demo


def test_second_run_changes_nothing(demo):
    before = snapshot()
    output = load_demo()
    assert snapshot() == before
    assert "nichts geändert" in output


def test_demo_pages_render(demo, client):
    for page in [*ArticlePage.objects.live()[:3], *SectionPage.objects.live(), *StandardPage.objects.live()]:
        assert client.get(page.url).status_code == 200, page.url
    assert client.get("/").status_code == 200
