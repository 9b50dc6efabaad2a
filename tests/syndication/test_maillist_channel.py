"""Press and e-mail lists: released pages reach the list's readers once, as mails they can read and trust."""

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from sandbox import smtp
from syndication.delivery import deliver
from syndication.excerpts import measure
from syndication.models import ChannelAccount, Delivery, PageExcerpt
from tests import factories
from tests.conftest import axe_violations, describe_violations, mail_text, wait_for
from tests.syndication.fanout import delivery_of, release, settled

READERS = ["redaktion@zeitung.example", "nachrichten@radio.example", "stadtblatt@presse.example"]
EXCERPT = "Die Lindenallee ist ab Montag drei Wochen gesperrt. Umleitung über die Ringstraße."


@pytest.fixture(scope="module")
def mail_server():
    with smtp.start_in_thread(certificate=django_settings.SYNDICATION_SMTP_CA_FILE) as server:
        yield server


@pytest.fixture
def mailbox(mail_server):
    """The list's mail server, emptied and without faults; `.messages()` is what it accepted."""
    mail_server.reset()
    return mail_server


def list_account(mailbox, network="press", name="Presseverteiler Musterstadt", recipients=READERS):
    account = ChannelAccount.objects.create(
        network=network, name=name, base_url=mailbox.url, recipients="\n".join(recipients)
    )
    return account


@pytest.fixture
def press(db, mailbox):
    return list_account(mailbox)


def released(article, account, text=EXCERPT):
    """Release the article to the account and send its copy in this process, as a worker would."""
    release(article, [account], text)
    delivery = delivery_of(article, account)
    deliver(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def due_now(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def only_message(mailbox):
    [received] = mailbox.messages()
    return received


def header(message, name):
    """A header as a mail client reads it: a long one is folded onto the next line when sent."""
    return str(message[name]).strip()


def html_part(message):
    return message.get_body(preferencelist=("html",)).get_content()


def test_a_press_release_reaches_every_reader_whole_with_its_image(portal, press, mailbox, settings):
    road = portal["road"]

    delivery = released(road, press)

    assert delivery.state == Delivery.State.POSTED
    received = only_message(mailbox)
    assert received.tls
    message = received.message
    assert sorted(received.recipients) == sorted(READERS)
    assert message["Subject"] == "Vollsperrung der Lindenallee"
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert header(message, "Message-ID") == f"<{delivery.idempotency_key}@musterstadt.example>"
    assert delivery.remote_id == header(message, "Message-ID")
    # Readers learn the list's name, never each other's addresses.
    assert message["To"].addresses == ()
    assert message["Bcc"] is None
    assert not any(reader.encode() in received.content for reader in READERS)
    text = mail_text(message)
    for part in (
        "Vollsperrung der Lindenallee",
        "Wegen Kanalarbeiten ist die Lindenallee drei Wochen gesperrt.",
        "Ein Ticket gilt für alle Häuser.",
        "Verkehr",
        "V.i.S.d.P.: Jens Albers",
        "Baustelle mit Absperrgittern",
        road.get_full_url(),
        EXCERPT,
    ):
        assert part in text
    assert f'href="{road.get_full_url()}"' in html_part(message)
    [image] = list(message.iter_attachments())
    assert image.get_content_type() == "image/png"
    assert image.get_filename() == road.main_image.file.name.rsplit("/", 1)[-1]
    with open(road.main_image.file.path, "rb") as original:
        assert image.get_content() == original.read()


@pytest.mark.browser
def test_the_press_mail_reads_accessibly_and_loads_nothing(portal, press, mailbox, chromium, axe):
    plan = factories.image(title="Umleitungsplan")
    detour = factories.article_page(
        portal["traffic"],
        title="Vollsperrung der Lindenallee",
        kind="press",
        main_image_alt="Baustelle mit Absperrgittern",
        body=[
            {"type": "paragraph", "value": "<p>Die Umleitung führt über die Ringstraße.</p>"},
            {
                "type": "figure",
                "value": {
                    "image": {"image": plan.pk, "alt_text": "Plan der Umleitung", "decorative": False},
                    "caption": "Umleitung ab Montag",
                },
            },
        ],
    )
    released(detour, press)
    html = html_part(only_message(mailbox).message)
    context = chromium.new_context(locale="de-DE")
    page = context.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.set_content(html)

        violations = axe_violations(axe, page)
        assert violations == [], describe_violations(violations)
        assert page.locator("html").get_attribute("lang") == "de"
        assert page.locator("h1").all_inner_texts() == ["Vollsperrung der Lindenallee"]
        assert page.get_by_role("img", name="Baustelle mit Absperrgittern").count() == 1
        # The body's image would load from the portal as the mail is read: it is a link instead.
        assert page.locator("img").count() == 1
        assert page.get_by_role("link", name="Bild: Plan der Umleitung").get_attribute("href") == (
            detour.get_site().root_url + plan.get_rendition("width-960").url
        )
        assert (
            page.get_by_role("link", name="„Vollsperrung der Lindenallee“ auf dem Portal lesen").count() == 1
        )
    finally:
        context.close()
    assert [url for url in requested if url.startswith(("http:", "https:"))] == []


def test_a_mail_list_gets_the_excerpt_and_the_link(portal, mailbox, db):
    council = list_account(mailbox, network="maillist", name="Verteiler Stadtrat", recipients=READERS[:1])
    museum = portal["museum"]

    delivery = released(museum, council, text="Museumsnacht am Samstag: 30 Stationen, ein Ticket.")

    assert delivery.state == Delivery.State.POSTED
    message = only_message(mailbox).message
    assert message["Subject"] == "Museumsnacht lockt mit 30 Stationen"
    text = mail_text(message)
    assert text.startswith("Museumsnacht am Samstag: 30 Stationen, ein Ticket.")
    assert museum.get_full_url() in text
    assert "Ein Ticket gilt für alle Häuser." not in text
    assert list(message.iter_attachments()) == []


def test_a_server_asking_to_wait_gets_the_mail_once_after_the_retry(portal, press, mailbox):
    mailbox.faults.reply("DATA", "451 4.3.0 Bitte später erneut versuchen")

    delivery = released(portal["road"], press)

    assert delivery.state == Delivery.State.PENDING
    assert "451 4.3.0 Bitte später erneut versuchen" in delivery.last_error
    assert mailbox.messages() == []
    due_now(delivery)
    assert deliver(delivery.pk) == Delivery.State.POSTED
    assert len(mailbox.messages()) == 1
    assert list(delivery.attempts.values_list("outcome", flat=True)) == ["transient", "success"]


def test_a_refusal_fails_the_copy_with_the_servers_own_words(portal, press, mailbox):
    mailbox.faults.reply("DATA", "554 5.7.1 Nachricht als unerwünscht abgelehnt")

    delivery = released(portal["road"], press)

    assert delivery.state == Delivery.State.FAILED
    assert "554 5.7.1 Nachricht als unerwünscht abgelehnt" in delivery.last_error
    assert deliver(delivery.pk) is None
    assert mailbox.messages() == []


def test_a_server_unreachable_is_tried_again_later(portal, db):
    closed = ChannelAccount.objects.create(
        network="press",
        name="Presse",
        base_url=f"smtp://127.0.0.1:{smtp.free_port('127.0.0.1')}",
        recipients=READERS[0],
    )

    delivery = released(portal["road"], closed)

    assert delivery.state == Delivery.State.PENDING
    assert "nicht erreichbar" in delivery.last_error
    assert delivery.next_attempt_at is not None


@pytest.mark.parametrize("host", ["127.1", "2130706433", "localhost", "[::ffff:127.0.0.1]"])
def test_a_relay_on_an_internal_address_fails_for_good_and_is_never_reached(
    portal, db, host, listener, settings
):
    settings.OUTBOUND_ALLOWED_HOSTS = []
    internal = ChannelAccount.objects.create(
        network="press", name="Presse", base_url=f"smtp://{host}:{listener.port}", recipients=READERS[0]
    )

    delivery = released(portal["road"], internal)

    assert delivery.state == Delivery.State.FAILED
    assert "ist nicht erlaubt" in delivery.last_error
    assert listener.connections() == 0


@pytest.mark.parametrize("silence", [0, 5], ids=["dropped", "silent-past-the-timeout"])
def test_a_connection_lost_after_the_message_needs_a_person_and_never_sends_twice(
    portal, press, mailbox, silence
):
    mailbox.faults.drop_after_data(seconds=silence)

    delivery = released(portal["road"], press)

    assert delivery.state == Delivery.State.NEEDS_ATTENTION
    assert "unbekannt" in delivery.last_error
    assert len(mailbox.messages()) == 1
    due_now(delivery)
    assert deliver(delivery.pk) is None
    assert len(mailbox.messages()) == 1


def test_a_refused_reader_is_named_and_the_others_get_the_mail(portal, press, mailbox):
    mailbox.faults.refuse("nachrichten@radio.example", "550 5.1.1 Postfach unbekannt")

    delivery = released(portal["road"], press)

    assert delivery.state == Delivery.State.POSTED
    assert "nachrichten@radio.example (550 5.1.1 Postfach unbekannt)" in delivery.last_error
    assert "1 von 3" in delivery.last_error
    assert sorted(only_message(mailbox).recipients) == [
        "redaktion@zeitung.example",
        "stadtblatt@presse.example",
    ]
    assert delivery.attempts.get().response["refused"] == {
        "nachrichten@radio.example": "550 5.1.1 Postfach unbekannt"
    }


def test_every_reader_refused_fails_the_copy(portal, press, mailbox):
    for reader in READERS:
        mailbox.faults.refuse(reader)

    delivery = released(portal["road"], press)

    assert delivery.state == Delivery.State.FAILED
    assert all(reader in delivery.last_error for reader in READERS)
    assert mailbox.messages() == []


def republish_with(article, text):
    PageExcerpt.objects.filter(page=article).update(text=text)
    article = type(article).objects.get(pk=article.pk)
    article.save_revision().publish()
    return article


def test_a_changed_excerpt_goes_out_as_a_correction_answering_the_first_mail(portal, press, mailbox):
    road = portal["road"]
    first = released(road, press)

    road = republish_with(road, "Korrigiert: Die Sperrung beginnt erst am Dienstag.")
    assert deliver(first.pk) == Delivery.State.POSTED

    original, correction = (received.message for received in mailbox.messages())
    assert correction["Subject"] == "Korrektur: Vollsperrung der Lindenallee"
    assert header(correction, "In-Reply-To") == header(original, "Message-ID")
    assert header(correction, "References") == header(original, "Message-ID")
    assert header(correction, "Message-ID") != header(original, "Message-ID")
    text = mail_text(correction)
    assert "Korrigiert: Die Sperrung beginnt erst am Dienstag." in text
    assert "ersetzt die zuvor versandte Pressemitteilung" in text
    assert delivery_of(road, press).remote_id == header(original, "Message-ID")


def test_unpublishing_sends_a_withdrawal_notice_answering_the_first_mail(portal, press, mailbox):
    road = portal["road"]
    first = released(road, press)

    road.unpublish()
    assert deliver(first.pk) == Delivery.State.RETRACTED

    original, withdrawal = (received.message for received in mailbox.messages())
    assert withdrawal["Subject"] == "Zurückgezogen: Vollsperrung der Lindenallee"
    assert header(withdrawal, "In-Reply-To") == header(original, "Message-ID")
    assert "ist zurückgezogen" in mail_text(withdrawal)
    assert list(withdrawal.iter_attachments()) == []


def test_the_smtp_password_from_the_token_field_logs_in_only_after_starttls(portal, db):
    with smtp.start_in_thread(
        logins={"presse": "geheim-77"}, certificate=django_settings.SYNDICATION_SMTP_CA_FILE
    ) as guarded:
        account = ChannelAccount(
            network="press",
            name="Presse",
            base_url=guarded.url.replace("smtp://", "smtp://presse@"),
            recipients=READERS[0],
        )
        account.set_credentials({"access_token": "geheim-77"})
        account.save()

        delivery = released(portal["road"], account)

        assert delivery.state == Delivery.State.POSTED
        [received] = guarded.messages()
        assert received.login == "presse"
        assert received.login_tls and received.tls


def test_a_relay_without_starttls_is_refused_and_gets_nothing(portal, db):
    with smtp.start_in_thread(starttls=False) as plain:
        delivery = released(portal["road"], list_account(plain))

        assert delivery.state == Delivery.State.FAILED
        assert "bietet kein STARTTLS an" in delivery.last_error
        assert "„?starttls=no“" in delivery.last_error
        assert plain.messages() == []


def test_a_relay_whose_address_says_starttls_no_gets_the_mail_in_clear(portal, db):
    with smtp.start_in_thread(starttls=False) as plain:
        account = ChannelAccount.objects.create(
            network="press", name="Presse", base_url=f"{plain.url}?starttls=no", recipients=READERS[0]
        )

        delivery = released(portal["road"], account)

        assert delivery.state == Delivery.State.POSTED
        [received] = plain.messages()
        assert not received.tls


def test_a_relay_whose_certificate_is_not_trusted_gets_nothing(portal, press, mailbox, settings):
    settings.SYNDICATION_SMTP_CA_FILE = ""

    delivery = released(portal["road"], press)

    assert delivery.state == Delivery.State.FAILED
    assert "Zertifikat des Mailservers" in delivery.last_error
    assert mailbox.messages() == []


def test_a_list_excerpt_is_counted_plainly_up_to_1000_characters(press):
    assert measure(press, "ä" * 1000).overflow == 0
    over = measure(press, "https://musterstadt.example/" + "x" * 980)
    assert (over.length, over.overflow) == (1008, 8)


@pytest.fixture
def admin_user(db):
    return factories.user("admin", is_superuser=True, is_staff=True)


def test_the_account_form_refuses_an_invalid_reader_naming_the_line(client, admin_user, press):
    client.force_login(admin_user)
    data = {
        "network": "press",
        "name": "Presseverteiler (neu)",
        "base_url": press.base_url,
        "recipients": "redaktion@zeitung.example\nkeine-adresse\nstadtblatt@presse.example",
        "enabled": "on",
        "tags": "",
        "uneditable_policy": press.uneditable_policy,
        "access_token": "",
    }

    response = client.post(reverse("channel_accounts:edit", args=(press.pk,)), data)

    assert response.status_code == 200
    assert "Zeile 2 ist keine gültige E-Mail-Adresse: keine-adresse" in response.content.decode()
    press.refresh_from_db()
    assert press.name == "Presseverteiler Musterstadt"
    assert press.recipient_list() == READERS


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_release_reaches_the_list_through_the_worker(celery_worker, portal, mailbox):
    press = list_account(mailbox)

    road = release(portal["road"], [press], EXCERPT)

    wait_for(settled(road, press, Delivery.State.POSTED), message="the press mail to be sent")
    received = only_message(mailbox)
    assert received.message["Subject"] == "Vollsperrung der Lindenallee"
    assert sorted(received.recipients) == sorted(READERS)


@pytest.mark.parametrize("change", ["correction", "withdrawal"])
def test_a_notice_lost_after_the_message_needs_a_person_and_is_never_sent_twice(
    portal, press, mailbox, change
):
    road = portal["road"]
    first = released(road, press)
    mailbox.faults.drop_after_data()

    if change == "correction":
        republish_with(road, "Korrigiert: Die Sperrung beginnt erst am Dienstag.")
    else:
        road.unpublish()
    assert deliver(first.pk) == Delivery.State.NEEDS_ATTENTION

    assert len(mailbox.messages()) == 2
    due_now(first)
    assert deliver(first.pk) is None
    assert len(mailbox.messages()) == 2
    assert "unbekannt" in delivery_of(road, press).last_error


def test_a_press_list_is_set_up_in_the_admin_without_a_token(client, admin_user, mailbox):
    client.force_login(admin_user)
    data = {
        "network": "press",
        "name": "Presseverteiler Musterstadt",
        "base_url": mailbox.url,
        "recipients": "\n".join(READERS),
        "enabled": "on",
        "tags": "",
        "uneditable_policy": "leave",
        "access_token": "",
    }

    response = client.post(reverse("channel_accounts:add"), data)

    assert response.status_code == 302
    account = ChannelAccount.objects.get(name="Presseverteiler Musterstadt")
    assert account.channel().recipients == tuple(READERS)
    assert account.credentials == {}


def test_a_title_with_a_line_break_goes_out_with_the_subject_on_one_line(portal, press, mailbox):
    article = factories.article_page(portal["traffic"], title="Vollsperrung\r\nder Lindenallee", kind="press")

    delivery = released(article, press)

    assert delivery.state == Delivery.State.POSTED
    assert only_message(mailbox).message["Subject"] == "Vollsperrung der Lindenallee"
