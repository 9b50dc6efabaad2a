"""Roles × sections × actions, each cell decided by a crafted POST and what it changed on the server."""

import pytest
from django.urls import reverse
from wagtail.models import Page, TaskState

from tests.editorial.admin_forms import article_form_data

pytestmark = pytest.mark.django_db

ROLES = ["redaktion_kultur", "redaktion_presse", "freigabe", "chefredaktion", "moderation", "admin"]
SECTIONS = ["kultur", "presse"]
ACTIONS = ["edit", "submit", "approve", "publish", "delete"]

# Who may do what where; every other cell is refused.
ALLOWED = {
    ("redaktion_kultur", "kultur"): {"edit", "submit"},
    ("redaktion_presse", "presse"): {"edit", "submit"},
    ("freigabe", "kultur"): {"approve"},
    ("chefredaktion", "presse"): {"approve"},
    ("admin", "kultur"): {"edit", "submit", "approve", "publish", "delete"},
    ("admin", "presse"): {"edit", "submit", "approve", "publish", "delete"},
}
SECTION_EDITOR = {"kultur": "redaktion_kultur", "presse": "redaktion_presse"}


def post_edit(client, article, action=None, **changes):
    data = article_form_data(article, **changes)
    if action:
        data[action] = "1"
    return client.post(reverse("wagtailadmin_pages:edit", args=(article.pk,)), data)


def do_edit(client, article):
    response = post_edit(client, article, title="Geändert")
    article.refresh_from_db()
    return response, article.get_latest_revision().content["title"] == "Geändert"


def do_submit(client, article):
    response = post_edit(client, article, "action-submit", title="Eingereicht")
    article.refresh_from_db()
    return response, article.workflow_in_progress


def do_publish(client, article):
    response = post_edit(
        client, article, "action-publish", title="Direkt veröffentlicht", bypass_reason="Rechtetest"
    )
    article.refresh_from_db()
    return response, article.live_revision.content["title"] == "Direkt veröffentlicht"


def do_delete(client, article):
    response = client.post(reverse("wagtailadmin_pages:delete", args=(article.pk,)))
    return response, not Page.objects.filter(pk=article.pk).exists()


def do_approve(client, article):
    task_state = article.current_workflow_task_state
    url = reverse("wagtailadmin_pages:workflow_action", args=(article.pk, "approve", task_state.pk))
    response = client.post(url, {"comment": ""})
    task_state.refresh_from_db()
    article.refresh_from_db()
    approved = task_state.status == TaskState.STATUS_APPROVED
    assert (article.live_revision.content["title"] == "Zur Freigabe") is approved
    return response, approved


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix_cell(newsroom, client, role, section, action):
    article = newsroom.article[section]
    if action == "approve":
        # The section's own editor submits; the role under test then tries to approve.
        client.force_login(getattr(newsroom.users, SECTION_EDITOR[section]))
        post_edit(client, article, "action-submit", title="Zur Freigabe")
        article.refresh_from_db()
        assert article.workflow_in_progress
    live_title = article.live_revision.content["title"]

    client.force_login(getattr(newsroom.users, role))
    perform = {
        "edit": do_edit,
        "submit": do_submit,
        "publish": do_publish,
        "delete": do_delete,
        "approve": do_approve,
    }
    response, happened = perform[action](client, article)

    expected = action in ALLOWED.get((role, section), set())
    assert happened is expected
    if not expected:
        assert response.status_code in (302, 403)
        if action != "delete":
            article.refresh_from_db()
            assert article.live_revision.content["title"] == live_title
