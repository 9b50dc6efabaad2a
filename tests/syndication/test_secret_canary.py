"""No credential leaves the vault: every account's secrets are canaries, every failure is played, and none is found.

Each network's account gets unique canary values for every secret credential.
One delivery then meets one failure class on the real stand-in (or on a hostile
server of the test's own that resets the connection or answers garbage quoting
the request it got), and the canaries are searched for in the whole database, the
log as the root handler writes it, the alert mails, the admin pages and the four
exports. Web Push is left out: its accounts have no credentials, and the VAPID
private key is never sent.

Select with `-m canary`. Deliveries run in this process, as deliver_task runs them;
an exception deliver() lets through is logged where Celery logs a failed task.
"""

import base64
import io
import json
import logging
import socket
import struct
import threading
import uuid
from dataclasses import dataclass, replace
from urllib.parse import quote, quote_plus

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from sandbox import smtp
from sandbox.faults import Fault
from syndication import alerts, credential_check
from syndication.delivery import MAX_ATTEMPTS, deliver, recover
from syndication.models import ChannelAccount, Delivery
from syndication.redaction import RedactingFilter
from tests import factories
from tests.syndication.fanout import delivery_of, release

pytestmark = [pytest.mark.canary, pytest.mark.django_db]

TEXT = "Museumsnacht am Samstag: 30 Stationen, ein Ticket. https://musterstadt.example/kultur/museumsnacht/"
MAIL_USER = "stadtfunk"
# Short: every failure class ends within it, and a held request costs little.
TIMEOUT = 0.5
# Long enough that every call of one delivery (retries, look-ups, the credential check) meets the fault.
FAULT_TIMES = 1000

# Where Celery logs a task that raised.
task_log = logging.getLogger("celery.app.trace")

FAILURES = ("refused", "reset", "timeout", "4xx", "5xx", "garbage", "echo")


def canary(network, name):
    return f"CANARY-{network}-{name}-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Network:
    name: str
    # Secret credential fields, each given a canary; `plain` are identifiers, shown again by design.
    secrets: tuple
    plain: dict
    mail: bool = False


NETWORKS = {
    "mastodon": Network("mastodon", ("access_token",), {}),
    "x": Network("x", ("access_token",), {}),
    "facebook": Network("facebook", ("access_token",), {"page_id": "104000000000001"}),
    "flickr": Network(
        "flickr",
        ("access_token", "token_secret", "api_secret"),
        {"api_key": "9f3c2b1a0e8d7c6b5a4f3e2d1c0b9a88"},
    ),
    "youtube": Network(
        "youtube",
        ("access_token", "refresh_token", "client_secret"),
        {"client_id": "000000000000-musterstadt.apps.googleusercontent.com"},
    ),
    "bluesky": Network("bluesky", ("access_token",), {"handle": "musterstadt.bsky.social"}),
    "press": Network("press", ("access_token",), {}, mail=True),
    "maillist": Network("maillist", ("access_token",), {}, mail=True),
}


# -- where a canary could hide, in every spelling ----------------------------------------


def spellings(secret):
    """The secret as text, URL-encoded, and inside base64 at any of the three alignments (AUTH PLAIN, Basic)."""
    found = {secret, quote(secret, safe=""), quote_plus(secret)}
    raw = secret.encode()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        # The first group mixes in what stood before the secret, the last what follows it.
        found.add(encoded[4:-4])
    return found


def count_in(text, secrets):
    """{secret: occurrences} of every secret found in `text`, any spelling."""
    counts = {}
    for secret in secrets:
        hits = sum(text.count(spelling) for spelling in spellings(secret))
        hits += text.count(secret.split("-")[-1])  # the random part alone: a cut or re-spelled canary
        if hits:
            counts[secret] = hits
    return counts


def database_text():
    """Every row of every table, as dumpdata writes it and as the database holds it."""
    dump = io.StringIO()
    call_command("dumpdata", format="json", stdout=dump)
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 -- table names from introspection
            rows.extend(repr(row) for row in cursor.fetchall())
    return {"Datenbank (dumpdata)": dump.getvalue(), "Datenbank (alle Tabellen)": "\n".join(rows)}


def streamed(response):
    assert response.status_code == 200, response
    return b"".join(response.streaming_content)


def xlsx_text(content):
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(repr(row) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True))


def admin_text(client, page):
    """What an administrator sees and exports: Verteilung, the page's copies, the admin home, the record."""
    admin = get_user_model().objects.create_superuser("canary-admin", "admin@musterstadt.example", "x")
    client.force_login(admin)
    dashboard = reverse("syndication_dashboard")
    record = reverse("audit:log")
    pages = {
        "Admin-Startseite": client.get(reverse("wagtailadmin_home")),
        "Verteilung (Seite)": client.get(dashboard),
        "Kopien der Seite": client.get(reverse("syndication_page_deliveries", args=(page.pk,))),
        "Protokoll (Seite)": client.get(record),
    }
    texts = {}
    for place, response in pages.items():
        assert response.status_code == 200, place
        texts[place] = response.content.decode()
    texts["Verteilung CSV"] = streamed(client.get(dashboard, {"export": "csv"})).decode()
    texts["Verteilung XLSX"] = xlsx_text(streamed(client.get(dashboard, {"export": "xlsx"})))
    texts["Protokoll CSV"] = streamed(client.get(record, {"export": "csv"})).decode()
    texts["Protokoll XLSX"] = xlsx_text(streamed(client.get(record, {"export": "xlsx"})))
    return texts


def mail_text():
    parts = []
    for message in mail.outbox:
        parts += [message.subject, message.body, *(content for content, _type in message.alternatives)]
    return "\n".join(parts)


def leaks(places, secrets):
    """{place: {secret: count}} for every place where a canary turned up."""
    return {place: found for place, text in places.items() if (found := count_in(text, secrets))}


def report(places, found):
    lines = [f"{place}: {sum(found.get(place, {}).values())}" for place in places]
    for place, secrets in found.items():
        lines += [f"  {place} ← {secret} ×{count}" for secret, count in secrets.items()]
    return "Canaries found per place:\n" + "\n".join(lines)


@pytest.fixture
def root_log():
    """The root handler as settings.LOGGING made it (with RedactingFilter), writing into a buffer, at DEBUG."""
    root = logging.getLogger()
    (handler,) = [h for h in root.handlers if any(isinstance(f, RedactingFilter) for f in h.filters)]
    buffer = io.StringIO()
    stream, level = handler.setStream(buffer), root.level
    root.setLevel(logging.DEBUG)
    yield buffer
    root.setLevel(level)
    handler.setStream(stream)


# -- hostile servers ------------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reset(conn):
    """Close with a TCP RST instead of a FIN: SO_LINGER with a zero timeout."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class HostileServer:
    """A raw server on 127.0.0.1 that keeps what each client sent and answers as `mode` says."""

    def __init__(self, mode):
        self.mode = mode
        self.received = []
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(32)
        self._socket.settimeout(0.1)
        self.port = self._socket.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stopped.is_set():
            try:
                conn, _address = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        conn.settimeout(2)
        try:
            self.converse(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def seen(self, secrets):
        sent = b"\n".join(self.received).decode("utf-8", "replace")
        return count_in(sent, secrets)

    def stop(self):
        self._stopped.set()
        self._socket.close()
        self._thread.join(timeout=2)


class HostileHTTP(HostileServer):
    """reset: RST once the request is in; garbage: 200 with an HTML page; echo: a 400 whose JSON quotes the request."""

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def converse(self, conn):
        request = read_http_request(conn)
        self.received.append(request)
        if self.mode == "reset":
            reset(conn)
            return
        quoted = request[:8000].decode("utf-8", "replace")
        if self.mode == "garbage":
            status, kind = "200 OK", "text/html; charset=utf-8"
            body = f"<html><body><h1>Wartungsarbeiten</h1><pre>{quoted}</pre></body></html>".encode()
        else:
            status, kind = "400 Bad Request", "application/json"
            message = f"Ungültige Anfrage: {quoted}"
            body = json.dumps(
                {
                    "error": {"message": message, "code": 100, "type": "OAuthException"},
                    "message": message,
                    "detail": message,
                    "errors": [{"message": message}],
                }
            ).encode()
        head = f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        conn.sendall(head.encode() + body)


def read_http_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    chunked = b"transfer-encoding: chunked" in head.lower()
    try:
        while (len(body) < length) or (chunked and not body.endswith(b"0\r\n\r\n")):
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
    except TimeoutError:
        pass
    return head + b"\r\n\r\n" + body


class HostileSMTP(HostileServer):
    """Offers AUTH PLAIN. reset: takes the message, then RST; garbage: answers AUTH with HTML quoting it; echo: 535 quoting it.

    It offers no STARTTLS, so the address says so: the password must reach it for the test to mean anything.
    """

    def url(self):
        return f"smtp://{MAIL_USER}@127.0.0.1:{self.port}?starttls=no"

    def converse(self, conn):
        conn.sendall(b"220 mail.musterstadt.example ESMTP\r\n")
        lines = conn.makefile("rb")
        for line in lines:
            self.received.append(line)
            command = line[:4].upper()
            if command in (b"EHLO", b"HELO"):
                conn.sendall(b"250-mail.musterstadt.example\r\n250 AUTH PLAIN\r\n")
            elif command == b"AUTH" and self.mode == "garbage":
                conn.sendall(b"<html><body>Unbekannter Befehl: " + line.strip() + b"</body></html>\r\n")
            elif command == b"AUTH" and self.mode == "echo":
                conn.sendall(b"535 5.7.8 Anmeldung fehlgeschlagen: " + line.strip() + b"\r\n")
            elif command == b"AUTH":
                conn.sendall(b"235 2.7.0 Authentication successful\r\n")
            elif command == b"DATA":
                conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                for content in lines:
                    self.received.append(content)
                    if content == b".\r\n":
                        break
                reset(conn)
                return
            elif command == b"QUIT":
                conn.sendall(b"221 Bye\r\n")
                return
            else:
                conn.sendall(b"250 OK\r\n")


# -- the stand-ins' own faults ------------------------------------------------------------------

STAND_IN_FAULTS = {
    "timeout": Fault("timeout", seconds=5, times=FAULT_TIMES),
    "4xx": Fault("status", status=401, times=FAULT_TIMES),
    "5xx": Fault("status", status=503, times=FAULT_TIMES),
}
MASTODON_EFFECTS = {
    "timeout": {"type": "timeout"},
    "4xx": {"type": "status", "status": 401, "body": {"error": "The access token is invalid"}},
    "5xx": {"type": "status", "status": 503},
}


def mail_fault(server, failure):
    if failure == "timeout":
        server.faults.latency("MAIL", 5, times=FAULT_TIMES)
    elif failure == "4xx":
        server.faults.reply("MAIL", "451 4.3.0 Bitte später erneut versuchen", times=FAULT_TIMES)
    else:
        server.faults.reply("MAIL", "554 5.7.1 Nicht angenommen", times=FAULT_TIMES)


@pytest.fixture
def address(request, settings, mastodon_sandbox):
    """A function (network, failure, canaries) → the account's address, with the failure waiting there."""
    settings.SYNDICATION_TIMEOUT = TIMEOUT
    cleanups = []

    def address_for(network, failure, secrets):
        if failure == "refused":
            scheme = f"smtp://{MAIL_USER}@" if network.mail else "http://"
            return f"{scheme}127.0.0.1:{free_port()}"
        if failure in ("reset", "garbage", "echo"):
            server = (HostileSMTP if network.mail else HostileHTTP)(failure)
            cleanups.append(server.stop)
            request.node.hostile = server
            return server.url()
        if network.mail:
            server = smtp.start_in_thread(logins={MAIL_USER: secrets["access_token"]})
            cleanups.append(server.stop)
            mail_fault(server, failure)
            return server.url.replace("smtp://", f"smtp://{MAIL_USER}@")
        if network.name == "mastodon":
            mastodon_sandbox.reset()
            mastodon_sandbox.fault(
                methods=None, path_regex=".*", effect=MASTODON_EFFECTS[failure], count=FAULT_TIMES
            )
            cleanups.append(mastodon_sandbox.reset)
            return mastodon_sandbox.base_url
        server = request.getfixturevalue(f"{network.name}_api")
        server.faults.add(replace(STAND_IN_FAULTS[failure]))
        cleanups.append(server.faults.clear)
        return server.url

    yield address_for
    for cleanup in reversed(cleanups):
        cleanup()


def canary_account(network, base_url, secrets):
    account = ChannelAccount(
        network=network.name,
        name="Stadt Musterstadt",
        base_url=base_url,
        recipients="presse@zeitung.example\nrat@musterstadt.example" if network.mail else "",
    )
    account.set_credentials({**network.plain, **secrets})
    account.save()
    return account


def article_for(network):
    section = factories.section_page(factories.home_page(), title="Kultur")
    media = {"video": factories.document(), "video_transcript": "Die Altstadt zieht vorbei."}
    return factories.article_page(
        section,
        title="Museumsnacht",
        publish=False,
        owner=factories.user("autorin"),
        **(media if network.name == "youtube" else {}),
    )


def deliver_as_the_worker_does(delivery_id):
    """deliver(); an exception it lets through is logged as Celery logs a failed task, then the sweep's recovery runs.

    True when deliver() raised: the copy may then stay "sending" for a person.
    """
    try:
        deliver(delivery_id)
    except Exception:
        task_log.exception("Task syndication.deliver[%s] raised unexpected", delivery_id)
        try:
            recover(delivery_id)
        except Exception:
            task_log.exception("Task syndication.recover[%s] raised unexpected", delivery_id)
        return True
    return False


def credential_check_as_the_worker_does(account_id):
    try:
        credential_check.check_account(account_id)
    except Exception:
        task_log.exception("Task syndication.check_account_credentials[%s] raised unexpected", account_id)


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("network_name", list(NETWORKS))
def test_no_canary_survives_a_failed_delivery(network_name, failure, address, root_log, client, request):
    network = NETWORKS[network_name]
    secrets = {name: canary(network.name, name) for name in network.secrets}
    account = canary_account(network, address(network, failure, secrets), secrets)
    article = release(article_for(network), [account], TEXT)
    copy = delivery_of(article, account)
    # The last attempt allowed: whatever happens, the copy ends in a state that is mailed and sealed.
    Delivery.objects.filter(pk=copy.pk).update(attempt_count=MAX_ATTEMPTS - 1)

    crashed = deliver_as_the_worker_does(copy.pk)
    alerts.send_alert(copy.pk)
    credential_check_as_the_worker_does(account.pk)

    if not crashed:
        assert copy.attempts.exclude(outcome="").exists(), "the attempt was not recorded"
    assert account.credentials == {**network.plain, **secrets}, "the vault lost the credentials"
    hostile = getattr(request.node, "hostile", None)
    if hostile is not None:
        # The secrets travelled: the test's server got them, so leaking them was possible.
        assert hostile.seen(secrets.values()), "no credential reached the server"
    places = {
        **database_text(),
        "Log": root_log.getvalue(),
        "Mails": mail_text(),
        **admin_text(client, article),
    }
    found = leaks(places, secrets.values())
    assert sum(sum(counts.values()) for counts in found.values()) == 0, report(places, found)
