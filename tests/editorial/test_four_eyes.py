"""Four-eyes release: nobody approves what they wrote or changed since the last release."""

import pytest
from django.urls import reverse
from wagtail.models import PageLogEntry, TaskState

from editorial.models import FourEyesApprovalTask
from tests.editorial.admin_forms import article_form_data

pytestmark = pytest.mark.django_db


def edit(client, user, article, action=None, **changes):
    client.force_login(user)
    data = article_form_data(article, **changes)
    if action:
        data[action] = "1"
    return client.post(reverse("wagtailadmin_pages:edit", args=(article.pk,)), data)


def approve(client, user, article, comment=""):
    client.force_login(user)
    task_state = article.current_workflow_task_state
    url = reverse("wagtailadmin_pages:workflow_action", args=(article.pk, "approve", task_state.pk))
    return client.post(url, {"comment": comment})


def test_reviewer_who_wrote_the_revision_is_not_offered_approval(newsroom, client):
    author = newsroom.users.freigabe
    author.groups.add(newsroom.groups["Redaktion Kultur"])
    article = newsroom.article["kultur"]
    edit(client, author, article, "action-submit", title="Selbst geschrieben")
    article.refresh_from_db()

    task = article.current_workflow_task.specific
    assert isinstance(task, FourEyesApprovalTask)
    assert [name for name, _label, _modal in task.get_actions(article, author)] == ["reject"]
    html = client.get(reverse("wagtailadmin_pages:edit", args=(article.pk,))).content.decode()
    assert 'data-workflow-action-name="approve"' not in html
    assert "Vier-Augen-Prinzip" in html


def test_self_approval_by_crafted_post_is_refused_and_changes_nothing(newsroom, client):
    author = newsroom.users.freigabe
    author.groups.add(newsroom.groups["Redaktion Kultur"])
    article = newsroom.article["kultur"]
    edit(client, author, article, "action-submit", title="Selbst geschrieben")
    article.refresh_from_db()

    response = approve(client, author, article)

    assert response.status_code in (302, 403)
    article.refresh_from_db()
    assert article.title == "Museumsnacht"
    assert article.current_workflow_task_state.status == TaskState.STATUS_IN_PROGRESS
    assert not PageLogEntry.objects.filter(page=article, action="wagtail.workflow.approve").exists()


def test_reviewer_who_edited_during_review_cannot_approve(newsroom, client):
    article = newsroom.article["kultur"]
    edit(client, newsroom.users.redaktion_kultur, article, "action-submit", title="Museumsnacht 2027")
    article.refresh_from_db()
    # Reviewers may edit a page that waits for them; after that it is their text too.
    response = edit(client, newsroom.users.freigabe, article, title="Museumsnacht 2027 – mit Shuttlebus")
    assert response.status_code == 302
    article.refresh_from_db()

    assert approve(client, newsroom.users.freigabe, article).status_code in (302, 403)
    article.refresh_from_db()
    assert article.live_revision.content["title"] == "Museumsnacht"

    # Approving the submitted revision is not enough: the newer one needs its own approval.
    approve(client, newsroom.users.freigabe_2, article, comment="Passt.")
    article.refresh_from_db()
    assert article.live_revision.content["title"] == "Museumsnacht"
    assert article.current_workflow_task_state.revision == article.get_latest_revision()

    approve(client, newsroom.users.freigabe_2, article, comment="Jetzt passt es.")
    article.refresh_from_db()
    assert article.title == "Museumsnacht 2027 – mit Shuttlebus"
    assert article.live_revision.user == newsroom.users.freigabe


def test_approval_by_another_reviewer_publishes_the_submitted_revision(newsroom, client):
    article = newsroom.article["kultur"]
    edit(client, newsroom.users.redaktion_kultur, article, "action-submit", title="Museumsnacht 2027")
    article.refresh_from_db()
    submitted = article.get_latest_revision()

    approve(client, newsroom.users.freigabe, article, comment="Freigegeben.")

    article.refresh_from_db()
    assert article.live
    assert article.title == "Museumsnacht 2027"
    assert article.live_revision == submitted
    assert client.get(article.url).status_code == 200
    assert PageLogEntry.objects.filter(page=article, action="wagtail.workflow.approve").exists()
    assert not PageLogEntry.objects.filter(revision=submitted, action="stadtfunk.editorial.bypass").exists()


def test_editors_cannot_publish_directly(newsroom, client):
    article = newsroom.article["kultur"]
    edit(
        client,
        newsroom.users.redaktion_kultur,
        article,
        "action-publish",
        title="Ohne Freigabe",
        bypass_reason="Eilig",
    )
    article.refresh_from_db()
    assert article.live_revision.content["title"] == "Museumsnacht"


def test_administrator_must_give_a_reason_to_publish_without_release(newsroom, client):
    article = newsroom.article["kultur"]
    response = edit(client, newsroom.users.admin, article, "action-publish", title="Eilmeldung")
    assert response.status_code == 200
    assert "bypass_reason" in response.context["form"].errors
    article.refresh_from_db()
    assert article.live_revision.content["title"] == "Museumsnacht"


def test_publication_without_release_is_flagged_with_its_reason(newsroom, client):
    article = newsroom.article["kultur"]
    edit(
        client,
        newsroom.users.admin,
        article,
        "action-publish",
        title="Unwetterwarnung",
        bypass_reason="Gefahr im Verzug, Freigabe nicht erreichbar",
    )
    article.refresh_from_db()
    assert article.title == "Unwetterwarnung"
    entry = PageLogEntry.objects.get(
        page=article, action="stadtfunk.editorial.bypass", revision=article.live_revision
    )
    assert entry.user == newsroom.users.admin
    assert entry.data["reason"] == "Gefahr im Verzug, Freigabe nicht erreichbar"
    assert "Gefahr im Verzug" in entry.message


def test_editors_do_not_see_the_bypass_field(newsroom, client):
    client.force_login(newsroom.users.redaktion_kultur)
    html = client.get(
        reverse("wagtailadmin_pages:edit", args=(newsroom.article["kultur"].pk,))
    ).content.decode()
    assert 'name="bypass_reason"' not in html
    client.force_login(newsroom.users.admin)
    html = client.get(
        reverse("wagtailadmin_pages:edit", args=(newsroom.article["kultur"].pk,))
    ).content.decode()
    assert 'name="bypass_reason"' in html


def test_change_after_a_first_approval_needs_that_approval_again(newsroom, client):
    from wagtail.models import WorkflowPage, WorkflowTask

    from tests import factories

    # Presse: Freigabe checks first, then the chief editors sign off.
    workflow = WorkflowPage.objects.get(page=newsroom.sections["presse"]).workflow
    first = workflow.workflow_tasks.get().task.specific
    first.groups.set([newsroom.groups["Freigabe"]])
    second = FourEyesApprovalTask.objects.create(name="Chefredaktion zeichnet ab")
    second.groups.add(newsroom.groups["Chefredaktion"])
    WorkflowTask.objects.create(workflow=workflow, task=second, sort_order=1)
    chief_2 = factories.user("chefredaktion-2", [newsroom.groups["Chefredaktion"]])

    article = newsroom.article["presse"]
    edit(client, newsroom.users.redaktion_presse, article, "action-submit", title="Haushalt 2027")
    article.refresh_from_db()
    approve(client, newsroom.users.freigabe, article)
    article.refresh_from_db()
    assert article.current_workflow_task.specific == second

    # A chief editor changes the text after Freigabe approved it …
    edit(client, newsroom.users.chefredaktion, article, title="Haushalt 2027 (korrigiert)")
    article.refresh_from_db()
    approve(client, chief_2, article)
    article.refresh_from_db()
    # … so Freigabe must approve the changed text again before it goes live.
    assert article.current_workflow_task.specific == first
    assert article.live_revision.content["title"] == "Haushalt beschlossen"

    approve(client, newsroom.users.freigabe, article)
    article.refresh_from_db()
    # Every step approves exactly the text that goes out.
    assert article.current_workflow_task.specific == second
    approve(client, chief_2, article)
    article.refresh_from_db()
    assert article.title == "Haushalt 2027 (korrigiert)"
    assert not article.workflow_in_progress


def test_revisions_without_content_changes_make_nobody_an_author(newsroom):
    from editorial.models import editors_since_release

    article = newsroom.article["kultur"]
    article.save_revision(user=newsroom.users.freigabe)
    assert editors_since_release(article) == set()

    article.teaser = "Jetzt mit Shuttlebus zwischen allen Häusern."
    article.save_revision(user=newsroom.users.freigabe_2)
    assert editors_since_release(article) == {newsroom.users.freigabe_2.pk}


def test_a_page_never_released_counts_every_author(newsroom):
    from editorial.models import editors_since_release
    from tests import factories

    draft = factories.article_page(newsroom.sections["kultur"], title="Entwurf", publish=False)
    draft.title = "Entwurf, überarbeitet"
    draft.save_revision(user=newsroom.users.redaktion_kultur)
    draft.teaser = "Noch einmal überarbeitet."
    draft.save_revision(user=newsroom.users.redaktion_presse)
    assert editors_since_release(draft) == {
        newsroom.users.redaktion_kultur.pk,
        newsroom.users.redaktion_presse.pk,
    }
