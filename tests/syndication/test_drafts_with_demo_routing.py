"""A draft always saves; media a routed network needs are checked when the article is submitted for release."""

import io

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from wagtail.models import TaskState
from wagtail.test.utils.form_data import inline_formset

from home.models import ArticlePage, SectionPage
from syndication.models import ChannelAccount
from tests import factories
from tests.editorial.admin_forms import article_form_data

pytestmark = pytest.mark.django_db

YOUTUBE_ERROR = (
    "Stadt Musterstadt (YouTube) braucht ein Video – entfernen Sie das Konto im Reiter Kanäle "
    "oder fügen Sie ein Video hinzu."
)


@pytest.fixture
def kultur(client, mastodon_sandbox):
    """The demo's Kultur section, its editor logged in; Mastodon's limit is read from the stand-in."""
    factories.wagtail_roots()
    call_command("load_demo", stdout=io.StringIO())
    ChannelAccount.objects.filter(network="mastodon").update(base_url=mastodon_sandbox.base_url)
    client.force_login(get_user_model().objects.get(username="redaktion-kultur"))
    return SectionPage.objects.get(slug="kultur")


def new_article():
    return ArticlePage(
        title="Lange Nacht der Museen",
        slug="lange-nacht-der-museen",
        teaser="Zwölf Häuser öffnen bis Mitternacht.",
        main_image=factories.image(),
        main_image_alt="Das Stadtmuseum bei Nacht",
    )


def routed_accounts(client, section):
    """The accounts the editor finds in the tab Kanäle of a new article in `section`."""
    response = client.get(reverse("wagtailadmin_pages:add", args=("home", "articlepage", section.pk)))
    formset = response.context["form"].formsets["excerpts"]
    return [ChannelAccount.objects.get(pk=form.initial["account"]) for form in formset.forms]


def save_new_draft(client, section, accounts):
    rows = [{"id": "", "account": account.pk, "text": ""} for account in accounts]
    data = article_form_data(new_article(), excerpts=inline_formset(rows))
    return client.post(reverse("wagtailadmin_pages:add", args=("home", "articlepage", section.pk)), data)


def submit(client, article, removed=()):
    """Zur Freigabe einreichen, with the draft's excerpts, those of `removed` networks deleted."""
    draft = article.get_latest_revision_as_object()
    excerpts = list(draft.excerpts.all())
    rows = [
        {
            "id": excerpt.pk,
            "account": excerpt.account_id,
            "text": excerpt.text,
            "DELETE": "1" if excerpt.account.network in removed else "",
        }
        for excerpt in excerpts
    ]
    data = article_form_data(draft, excerpts=inline_formset(rows, initial=len(rows)))
    data["action-submit"] = "1"
    return client.post(reverse("wagtailadmin_pages:edit", args=(article.pk,)), data), excerpts


def first_error(response):
    """The error "Gehen Sie zum ersten Fehler" focuses, and the id of the form field it belongs to."""
    html = BeautifulSoup(response.content, "html.parser")
    error = html.select_one(".error-message:not([hidden])")
    field = error.find_parent(attrs={"data-field-wrapper": True}) or error.parent
    control = field.select_one("input[id], select[id], textarea[id]")
    return " ".join(error.get_text().split()), control and control["id"]


def test_a_draft_without_the_video_youtube_needs_saves_with_its_routed_excerpts(client, kultur):
    accounts = routed_accounts(client, kultur)
    assert "youtube" in {account.network for account in accounts}

    response = save_new_draft(client, kultur, accounts)

    assert response.status_code == 302
    article = ArticlePage.objects.get(slug="lange-nacht-der-museen")
    assert not article.live
    draft = article.get_latest_revision_as_object()
    assert {excerpt.account for excerpt in draft.excerpts.all()} == set(accounts)


def test_submitting_without_the_video_names_youtube_on_its_excerpt_row(client, kultur):
    save_new_draft(client, kultur, routed_accounts(client, kultur))
    article = ArticlePage.objects.get(slug="lange-nacht-der-museen")

    response, excerpts = submit(client, article)

    assert response.status_code == 200
    row = next(number for number, excerpt in enumerate(excerpts) if excerpt.account.network == "youtube")
    assert first_error(response) == (YOUTUBE_ERROR, f"id_excerpts-{row}-account")
    article.refresh_from_db()
    assert article.current_workflow_state is None


def test_once_the_youtube_excerpt_is_removed_the_article_is_submitted(client, kultur):
    save_new_draft(client, kultur, routed_accounts(client, kultur))
    article = ArticlePage.objects.get(slug="lange-nacht-der-museen")

    response, _excerpts = submit(client, article, removed={"youtube"})

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.current_workflow_task_state.status == TaskState.STATUS_IN_PROGRESS
    submitted = article.current_workflow_task_state.revision.as_object()
    networks = {excerpt.account.network for excerpt in submitted.excerpts.all()}
    assert "youtube" not in networks
    assert "flickr" in networks
