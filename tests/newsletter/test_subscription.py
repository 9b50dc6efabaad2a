"""Joining and leaving through the citizen's pages: double opt-in, merged requests, neutral answers, limits."""

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import signing
from django.utils import timezone

from newsletter.models import Subscriber
from newsletter.subscriptions import consent_text, purge_unconfirmed, unsubscribe_path
from tests.newsletter.conftest import confirmation_link, mails_to, subscriber

pytestmark = pytest.mark.django_db


def subscribe(client, email, *sections, frequency="sofort", consent=True, **extra):
    data = {"email": email, "topics": [section.pk for section in sections], "frequency": frequency}
    if consent:
        data["consent"] = "on"
    return client.post("/newsletter/", data, **extra)


def path_of(link):
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def test_the_form_offers_the_sections_and_the_consent_text_with_the_privacy_page(portal, client):
    html = client.get("/newsletter/").content.decode()

    assert "<legend>Themen</legend>" in html
    assert 'name="topics"' in html and ">Kultur</label>" in html and ">Verkehr</label>" in html
    assert "<legend>Wie oft?</legend>" in html
    assert consent_text("Musterstadt") in html
    assert f'href="{portal["privacy"].url}"' in html


def test_subscribing_stores_the_consent_text_and_time_and_mails_a_link_that_confirms(
    portal, client, smtp_server
):
    before = timezone.now()
    response = subscribe(client, "Anna.Berg@Example.org ", portal["culture"])

    assert response.status_code == 302
    assert "Bitte bestätigen Sie Ihre Anmeldung" in client.get(response["Location"]).content.decode()
    person = Subscriber.objects.get()
    assert person.email == "anna.berg@example.org"
    assert person.consent_text == consent_text("Musterstadt")
    assert before <= person.consented_at <= timezone.now()
    assert person.confirmed_at is None
    (mail,) = mails_to(smtp_server, "anna.berg@example.org")
    assert mail["Subject"] == "Bitte bestätigen Sie Ihre Anmeldung zum Newsletter"

    link = confirmation_link(smtp_server, "anna.berg@example.org")
    page = client.get(path_of(link))
    assert "Anmeldung bestätigen</button>" in page.content.decode()
    Subscriber.objects.get(confirmed_at__isnull=True)

    assert client.post(path_of(link))["Location"] == "/newsletter/bestaetigt/"
    person.refresh_from_db()
    assert person.confirmed_at is not None
    assert list(person.topics.all()) == [portal["culture"]]
    assert person.frequency == "sofort"


def test_opening_the_link_alone_confirms_nothing(portal, client, smtp_server):
    subscribe(client, "scanner@example.org", portal["culture"])
    link = confirmation_link(smtp_server, "scanner@example.org")

    client.get(path_of(link))
    client.head(path_of(link))

    assert Subscriber.objects.get().confirmed_at is None


def test_an_invalid_address_is_refused_in_german_and_nothing_is_stored(portal, client, smtp_server):
    response = subscribe(client, "anna.berg(at)example", portal["culture"])

    html = response.content.decode()
    assert response.status_code == 200
    assert "Bitte geben Sie eine gültige E-Mail-Adresse ein" in html
    assert 'aria-invalid="true"' in html
    assert "<title>Fehler:" in html
    assert not Subscriber.objects.exists()
    assert smtp_server.messages == []


def test_without_consent_or_topics_nothing_is_stored(portal, client, smtp_server):
    html = subscribe(client, "anna@example.org", consent=False).content.decode()

    assert "Bitte wählen Sie mindestens ein Thema." in html
    assert "Ohne Ihre Einwilligung können wir Ihnen keinen Newsletter senden." in html
    assert not Subscriber.objects.exists()
    assert smtp_server.messages == []


def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(portal, client, smtp_server):
    subscriber("bekannt@example.org", portal["culture"])

    known = subscribe(client, "bekannt@example.org", portal["culture"])
    unknown = subscribe(client, "neu@example.org", portal["culture"])

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mails_to(smtp_server, "bekannt@example.org")) == 1
    assert len(mails_to(smtp_server, "neu@example.org")) == 1


def test_a_second_subscription_is_merged_and_applied_only_on_confirmation(portal, client, smtp_server):
    person = subscriber("anna@example.org", portal["culture"])

    subscribe(client, "ANNA@example.org", portal["traffic"], frequency="woechentlich")

    assert Subscriber.objects.count() == 1
    person.refresh_from_db()
    assert list(person.topics.all()) == [portal["culture"]]
    assert person.frequency == "sofort"
    assert person.confirmed_at is not None

    client.post(path_of(confirmation_link(smtp_server, "anna@example.org")))

    person.refresh_from_db()
    assert Subscriber.objects.count() == 1
    assert list(person.topics.all()) == [portal["traffic"]]
    assert person.frequency == "woechentlich"


def test_an_unconfirmed_request_asked_again_stays_one_row(portal, client, smtp_server):
    subscribe(client, "anna@example.org", portal["culture"])
    subscribe(client, "anna@example.org", portal["traffic"])

    assert Subscriber.objects.count() == 1
    assert len(mails_to(smtp_server, "anna@example.org")) == 2


def test_forged_links_are_refused_with_the_same_neutral_answer(portal, client, smtp_server):
    subscribe(client, "anna@example.org", portal["culture"])
    path = path_of(confirmation_link(smtp_server, "anna@example.org"))
    forged = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]

    answers = [client.get(forged), client.post(forged), client.post("/newsletter/bestaetigen/erfunden/")]

    assert {response.status_code for response in answers} == {400}
    assert len({response.content for response in answers}) == 1
    assert "Dieser Link ist ungültig oder abgelaufen" in answers[0].content.decode()
    assert Subscriber.objects.get().confirmed_at is None


def test_expired_links_are_refused_alike_for_existing_and_deleted_subscriptions(
    portal, client, smtp_server, monkeypatch
):
    subscribe(client, "bleibt@example.org", portal["culture"])
    subscribe(client, "geht@example.org", portal["culture"])
    kept = path_of(confirmation_link(smtp_server, "bleibt@example.org"))
    gone = path_of(confirmation_link(smtp_server, "geht@example.org"))
    Subscriber.objects.filter(email="geht@example.org").delete()

    # Still valid: the link of the deleted subscription opens the same page as any other.
    for path in (kept, gone):
        assert "Anmeldung bestätigen</button>" in client.get(path).content.decode()
    refused_while_valid = client.post(gone)

    later = time.time() + 73 * 3600
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: later))
    answers = [client.post(kept), client.post(gone), client.get(kept)]

    assert {response.status_code for response in answers + [refused_while_valid]} == {400}
    assert len({response.content for response in answers + [refused_while_valid]}) == 1
    assert Subscriber.objects.get().confirmed_at is None


def test_leaving_deletes_the_subscriber_and_answers_neutrally_when_already_gone(portal, client):
    person = subscriber("anna@example.org", portal["culture"])
    path = unsubscribe_path(person)

    page = client.get(path).content.decode()
    assert "Jetzt abmelden</button>" in page
    assert Subscriber.objects.exists()

    first = client.post(path, {"List-Unsubscribe": "One-Click"})
    again = client.post(path, {"List-Unsubscribe": "One-Click"})

    assert not Subscriber.objects.exists()
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert "Sie erhalten keinen Newsletter mehr" in first.content.decode()


def test_a_forged_leaving_link_changes_nothing(portal, client):
    person = subscriber("anna@example.org", portal["culture"])
    path = unsubscribe_path(person)
    forged = path.replace(path.split("/")[-2], signing.dumps(person.pk, salt="geraten"))

    response = client.post(forged, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 400
    assert Subscriber.objects.exists()


def test_sign_ups_are_limited_per_client_address(portal, client, smtp_server):
    answers = [subscribe(client, f"person{number}@example.org", portal["culture"]) for number in range(6)]

    assert [response.status_code for response in answers] == [302] * 5 + [429]
    assert "Zu viele Anfragen" in answers[-1].content.decode()
    assert answers[-1]["Retry-After"] == "3600"
    assert Subscriber.objects.count() == 5
    assert len(smtp_server.messages) == 5
    # Another client is not held up.
    assert (
        subscribe(client, "andere@example.org", portal["culture"], REMOTE_ADDR="192.0.2.7").status_code == 302
    )


def test_behind_a_proxy_the_limit_counts_the_address_the_proxy_names(portal, client, smtp_server, settings):
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_REAL_IP"
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    answers = [
        subscribe(
            client, f"person{number}@example.org", portal["culture"], HTTP_X_REAL_IP="192.0.2.1", **proxy
        )
        for number in range(6)
    ]
    assert [response.status_code for response in answers] == [302] * 5 + [429]

    other_citizen = subscribe(
        client, "andere@example.org", portal["culture"], HTTP_X_REAL_IP="192.0.2.2", **proxy
    )
    assert other_citizen.status_code == 302


def test_confirmation_links_for_one_address_are_limited_across_clients(portal, client, smtp_server):
    answers = [
        subscribe(client, "ziel@example.org", portal["culture"], REMOTE_ADDR=f"192.0.2.{number}")
        for number in range(1, 7)
    ]

    assert [response.status_code for response in answers] == [302] * 5 + [429]
    assert len(mails_to(smtp_server, "ziel@example.org")) == 5


def test_unconfirmed_requests_are_deleted_after_seven_days(portal):
    old = subscriber("alt@example.org", portal["culture"], confirmed=False)
    Subscriber.objects.filter(pk=old.pk).update(consented_at=timezone.now() - timedelta(days=8))
    subscriber("frisch@example.org", portal["culture"], confirmed=False)
    confirmed = subscriber(
        "treu@example.org", portal["culture"], consented_at=timezone.now() - timedelta(days=90)
    )

    assert purge_unconfirmed() == 1

    assert set(Subscriber.objects.values_list("email", flat=True)) == {"frisch@example.org", confirmed.email}
