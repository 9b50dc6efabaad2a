"""Mail through a real SMTP server: reviewers when something waits, authors when it is decided."""

import pytest
from django.urls import reverse

from tests.conftest import mail_text
from tests.editorial.admin_forms import article_form_data

pytestmark = pytest.mark.django_db


def submit(client, author, article):
    client.force_login(author)
    data = {**article_form_data(article, title="Museumsnacht 2027"), "action-submit": "1"}
    client.post(reverse("wagtailadmin_pages:edit", args=(article.pk,)), data)
    article.refresh_from_db()


def decide(client, reviewer, article, action, comment):
    client.force_login(reviewer)
    task_state = article.current_workflow_task_state
    url = reverse("wagtailadmin_pages:workflow_action", args=(article.pk, action, task_state.pk))
    client.post(url, {"comment": comment})


def recipients(smtp_server):
    return sorted(address for received in smtp_server.messages for address in received.recipients)


def test_submission_mails_the_sections_reviewers_only(newsroom, client, smtp_server):
    submit(client, newsroom.users.redaktion_kultur, newsroom.article["kultur"])
    assert recipients(smtp_server) == ["freigabe-2@musterstadt.example", "freigabe@musterstadt.example"]
    text = mail_text(smtp_server.messages[0].message)
    assert "Museumsnacht 2027" in text
    assert "/admin/pages/" in text


def test_approval_mails_the_author_with_reviewer_and_comment(newsroom, client, smtp_server):
    article = newsroom.article["kultur"]
    submit(client, newsroom.users.redaktion_kultur, article)
    smtp_server.messages.clear()

    decide(client, newsroom.users.freigabe, article, "approve", "Schöner Text, danke!")

    assert recipients(smtp_server) == ["redaktion-kultur@musterstadt.example"]
    message = smtp_server.messages[0].message
    text = mail_text(message)
    assert "freigegeben" in text
    assert "Kommentar: „Schöner Text, danke!“" in text
    assert "Freigegeben von: freigabe" in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Schöner Text, danke!" in html


def test_rejection_mails_the_author_with_the_comment(newsroom, client, smtp_server):
    article = newsroom.article["kultur"]
    submit(client, newsroom.users.redaktion_kultur, article)
    smtp_server.messages.clear()

    decide(client, newsroom.users.freigabe, article, "reject", "Bitte den Termin prüfen.")

    assert recipients(smtp_server) == ["redaktion-kultur@musterstadt.example"]
    assert "Bitte den Termin prüfen." in mail_text(smtp_server.messages[0].message)
