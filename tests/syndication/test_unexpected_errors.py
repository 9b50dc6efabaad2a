"""An exception no network module meant to raise ends its attempt where people see it, never "sending"."""

import pytest
from django.contrib.auth.models import Group

from syndication.channels.base import UnexpectedError
from syndication.delivery import deliver
from syndication.importer import import_account
from syndication.models import ChannelAccount, Delivery, DeliveryAttempt, ImportedComment
from tests import factories
from tests.conftest import mail_text, wait_for
from tests.syndication.fanout import TEXT, city_accounts, delivery_of, release, settled

CHANGED = "Museumsnacht: neuer Termin am Sonntag!"


def article_with_excerpts(accounts):
    section = factories.section_page(factories.home_page(), title="Kultur")
    return release(factories.article_page(section, title="Museumsnacht", publish=False), accounts)


def release_new_text(article, text=CHANGED):
    for excerpt in article.excerpts.all():
        excerpt.text = text
    article.save_revision().publish()


def tracebacks(caplog, name):
    return [record for record in caplog.records if record.exc_info and record.exc_info[0].__name__ == name]


@pytest.fixture
def city(db, mastodon, x_api):
    return city_accounts(mastodon, x_api, Group.objects.create(name="Redaktion Kultur"))


@pytest.fixture
def posted_on_x(city, x_api):
    """An article whose copy is on the X stand-in, sent in this process as a worker would."""
    article = article_with_excerpts([city["x"]])
    assert deliver(delivery_of(article, city["x"]).pk) == Delivery.State.POSTED
    return article


def test_an_answer_of_an_unexpected_shape_needs_a_person_after_one_attempt(city, posted_on_x, x_api, caplog):
    # X answers the edit with the new post in a list of one: the module cannot read it.
    x_api.app.serve_odd_shapes(made_as_list=True)
    release_new_text(posted_on_x)
    delivery = delivery_of(posted_on_x, city["x"])

    assert deliver(delivery.pk) == Delivery.State.NEEDS_ATTENTION

    delivery.refresh_from_db()
    assert delivery.last_error.startswith("TypeError: ")
    assert delivery.sending_since is None
    attempt = delivery.attempts.latest("started_at")
    assert (attempt.action, attempt.outcome) == (Delivery.Action.UPDATE, DeliveryAttempt.Outcome.UNKNOWN)
    assert attempt.error == delivery.last_error
    assert tracebacks(caplog, "TypeError")
    # Why a person: the edit did reach X.
    assert [post["text"] for post in x_api.app.posts()] == [TEXT, CHANGED]


def test_an_account_whose_channel_cannot_be_made_fails_without_a_call(city, x_api, caplog):
    article = article_with_excerpts([city["x"]])
    ChannelAccount.objects.filter(pk=city["x"].pk).update(encrypted_credentials="")

    assert deliver(delivery_of(article, city["x"]).pk) == Delivery.State.FAILED

    assert delivery_of(article, city["x"]).last_error.startswith("KeyError: ")
    assert x_api.app.posts() == []


def test_an_import_round_that_meets_an_unexpected_shape_is_logged_and_keeps_its_cursor(
    city, posted_on_x, x_api, caplog
):
    x_api.app.citizen_reply(delivery_of(posted_on_x, city["x"]).remote_id, "Gilt das Ticket auch im Bus?")
    # The search answers with its posts keyed by id instead of a list of them.
    x_api.app.serve_odd_shapes()

    with pytest.raises(UnexpectedError, match=r"^TypeError: "):
        import_account(city["x"].pk)

    assert tracebacks(caplog, "TypeError")
    account = ChannelAccount.objects.get(pk=city["x"].pk)
    assert account.reply_cursor is None
    assert not ImportedComment.objects.filter(account=account).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_unexpected_error_in_the_worker_is_mailed_and_leaves_nothing_sending(
    smtp_server, two_workers, mastodon, x_api
):
    # Started only now, so that it sends its mail to this test's SMTP server.
    two_workers[0].start()
    factories.user("admin", is_superuser=True, email="admin@musterstadt.example")
    city = city_accounts(mastodon, x_api, Group.objects.create(name="Redaktion Kultur"))
    article = article_with_excerpts([city["x"]])
    wait_for(settled(article, city["x"], Delivery.State.POSTED), message="the copy to be posted")
    x_api.app.serve_odd_shapes(made_as_list=True)

    release_new_text(article)

    wait_for(settled(article, city["x"], Delivery.State.NEEDS_ATTENTION), message="the failed update")
    wait_for(lambda: smtp_server.messages, message="the alert mail")
    delivery = delivery_of(article, city["x"])
    assert delivery.last_error.startswith("TypeError: ")
    [alert] = smtp_server.messages
    assert alert.recipients == ["admin@musterstadt.example"]
    assert "Braucht Aufmerksamkeit" in alert.message["Subject"]
    assert delivery.last_error in mail_text(alert.message)
