"""A local stand-in for a mail server: SMTP on aiosmtpd that keeps what it accepts and plays faults.

It offers STARTTLS, and requires it before a login or a message, with a throwaway
self-signed certificate made at start; `--certificate` writes that certificate
where clients are told to trust it (SYNDICATION_SMTP_CA_FILE in dev and test).
Accepted messages are kept in memory and, with `--maildir`, written there as .eml
files. Faults: a reply to MAIL, RCPT or DATA for the next messages, recipients
refused, the connection dropped after the message was taken (kept, never
answered), latency. Run it with `python -m sandbox.smtp --port 8625 --maildir
var/mailbox --certificate var/smtp-stand-in.pem`; tests use `start_in_thread()`.
"""

import argparse
import asyncio
import datetime
import email
import email.policy
import functools
import ipaddress
import itertools
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

COMMANDS = ("MAIL", "RCPT", "DATA")
KINDS = ("reply", "drop", "latency")
REFUSED = "550 5.1.1 Mailbox unavailable"


@dataclass
class MailFault:
    """What the server does instead of (or around) answering, for the next `times` messages.

    A message is one transaction, from MAIL to the end of DATA.

    reply:   answer `command` with `reply`, e.g. "451 4.3.0 Try again later"; at RCPT
             every recipient of the message gets it.
    drop:    take the message after DATA and keep it, then hold the connection
             `seconds` and close it without an answer.
    latency: wait `seconds` before answering `command`.
    """

    kind: str
    command: str = "DATA"
    reply: str = ""
    times: int = 1
    seconds: float = 0.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(KINDS)}")
        if self.command not in COMMANDS:
            raise ValueError(f"unknown command {self.command!r}; one of {', '.join(COMMANDS)}")
        if self.kind == "reply" and self.reply[:1] not in {"4", "5"}:
            raise ValueError("a reply fault needs a 4xx or 5xx reply")
        if self.times < 1:
            raise ValueError("times must be at least 1")


class MailFaultPlan:
    """Faults waiting for their messages, and recipients the server refuses; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._refused = {}

    def add(self, fault):
        with self._lock:
            self._faults.append(fault)
        return fault

    def reply(self, command, reply, *, times=1):
        return self.add(MailFault("reply", command, reply=reply, times=times))

    def drop_after_data(self, *, seconds=0.0, times=1):
        return self.add(MailFault("drop", "DATA", seconds=seconds, times=times))

    def latency(self, command, seconds, *, times=1):
        return self.add(MailFault("latency", command, seconds=seconds, times=times))

    def refuse(self, address, reply=REFUSED):
        """Refuse this recipient at RCPT, in every message until cleared."""
        with self._lock:
            self._refused[address.lower()] = reply

    def for_message(self):
        """The faults a new message meets; each uses up one of its times."""
        with self._lock:
            taken = list(self._faults)
            for fault in taken:
                fault.times -= 1
            self._faults = [fault for fault in self._faults if fault.times > 0]
        return taken

    def refusal(self, address):
        with self._lock:
            return self._refused.get(address.lower())

    def clear(self):
        with self._lock:
            self._faults.clear()
            self._refused.clear()


@dataclass(frozen=True)
class Received:
    """A message the server accepted: the envelope and the message as a reader's client parses it."""

    number: int
    mail_from: str
    recipients: tuple
    content: bytes
    login: str = ""
    # Whether the session was encrypted (STARTTLS) when the client logged in and when the message came.
    login_tls: bool = False
    tls: bool = False

    @property
    def message(self):
        return email.message_from_bytes(self.content, policy=email.policy.default)


@dataclass(frozen=True)
class Login:
    user: str
    tls: bool = False


class MailStandIn:
    """The server's state: what it accepted, its fault plan and, optionally, the logins it accepts."""

    def __init__(self, *, maildir=None, logins=None, verbose=False):
        self.faults = MailFaultPlan()
        self.maildir = Path(maildir) if maildir else None
        # user → password; when given, a client must log in before MAIL.
        self.logins = dict(logins or {})
        self.verbose = verbose
        self._lock = threading.Lock()
        self._messages = []
        self._numbers = itertools.count(1)

    def messages(self):
        with self._lock:
            return list(self._messages)

    def reset(self):
        self.faults.clear()
        with self._lock:
            self._messages.clear()

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if user in self.logins and self.logins[user] == password:
                return AuthResult(success=True, auth_data=Login(user, tls=session.ssl is not None))
        return AuthResult(success=False, handled=False)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        envelope.faults = self.faults.for_message()
        reply = await self._play(envelope, "MAIL")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = await self._play(envelope, "RCPT") or self.faults.refusal(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = await self._play(envelope, "DATA")
        if reply:
            return reply
        received = self._keep(envelope, session)
        drop = next((fault for fault in envelope.faults if fault.kind == "drop"), None)
        if drop is not None:
            await asyncio.sleep(drop.seconds)
            server.transport.close()
            # Closing the connection cancels this session; the client never hears a reply.
            await asyncio.Event().wait()
        return f"250 2.0.0 Ok: queued as {received.number}"

    async def _play(self, envelope, command):
        """Wait or answer as the message's faults say; None to go on normally."""
        for fault in getattr(envelope, "faults", ()):
            if fault.command != command:
                continue
            if fault.kind == "latency":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "reply":
                return fault.reply
        return None

    def _keep(self, envelope, session):
        login = session.auth_data if isinstance(session.auth_data, Login) else Login("")
        received = Received(
            number=next(self._numbers),
            mail_from=envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            content=envelope.original_content or envelope.content,
            login=login.user,
            login_tls=login.tls,
            tls=session.ssl is not None,
        )
        with self._lock:
            self._messages.append(received)
        if self.maildir is not None:
            self._write(received)
        if self.verbose:
            print(
                f"#{received.number} from {received.mail_from} to {len(received.recipients)} "
                f"recipient(s): {received.message['Subject']}",
                flush=True,
            )
        return received

    def _write(self, received):
        """The message as a .eml file, headed by its envelope as a delivering server notes it."""
        self.maildir.mkdir(parents=True, exist_ok=True)
        envelope = (
            f"Return-Path: <{received.mail_from}>\r\nX-Original-To: {', '.join(received.recipients)}\r\n"
        )
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{received.number:04d}.eml"
        (self.maildir / name).write_bytes(envelope.encode() + received.content)


class RunningMailServer:
    """The stand-in served from a background thread: its address, what it accepted, its faults.

    With `starttls` (the default) it offers STARTTLS and takes neither a login nor a
    message before it; `certificate` is where its certificate is written for clients
    to trust. Without, it speaks plain SMTP only, as a relay on an internal host may.
    """

    def __init__(self, app, *, host, port, starttls=True, certificate=None):
        self.app = app
        self.faults = app.faults
        self.host, self.port = host, port or free_port(host)
        self.url = f"smtp://{self.host}:{self.port}"
        options = {}
        if starttls:
            options = {"tls_context": tls_context(certificate), "require_starttls": True}
        if app.logins:
            # With STARTTLS, aiosmtpd takes a login only once the session is encrypted.
            options.update(authenticator=app.authenticate, auth_required=True, auth_require_tls=starttls)
        self._controller = Controller(app, hostname=self.host, port=self.port, **options)
        self._controller.start()

    def messages(self):
        return self.app.messages()

    def reset(self):
        self.app.reset()

    def stop(self):
        self.app.faults.clear()
        self._controller.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def free_port(host):
    # aiosmtpd's controller checks that it serves by connecting to its port, so port 0 will not do.
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@functools.cache
def throwaway_certificate():
    """A self-signed certificate for localhost and 127.0.0.1 and its key, as PEM; one per process.

    One per process, so that every stand-in a test process starts can be trusted
    through the same file.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stadtfunk mail stand-in")])
    now = datetime.datetime.now(datetime.UTC)
    names = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def tls_context(certificate=None):
    """The server's TLS context with the throwaway certificate, written to `certificate` for clients."""
    certificate_pem, key_pem = throwaway_certificate()
    if certificate:
        Path(certificate).parent.mkdir(parents=True, exist_ok=True)
        Path(certificate).write_bytes(certificate_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # load_cert_chain reads files only; the key's file lives as long as this call.
    with tempfile.NamedTemporaryFile(suffix=".pem") as chain:
        chain.write(key_pem + certificate_pem)
        chain.flush()
        context.load_cert_chain(chain.name)
    return context


def start_in_thread(*, host="127.0.0.1", port=0, maildir=None, logins=None, starttls=True, certificate=None):
    """A mail stand-in on a free port (or `port`): `.url`, `.messages()`, `.faults`, `.stop()`."""
    return RunningMailServer(
        MailStandIn(maildir=maildir, logins=logins),
        host=host,
        port=port,
        starttls=starttls,
        certificate=certificate,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8625)
    parser.add_argument("--maildir", help="also write each accepted message there as an .eml file")
    parser.add_argument(
        "--certificate", help="write the stand-in's STARTTLS certificate there, for clients to trust"
    )
    args = parser.parse_args(argv)
    app = MailStandIn(maildir=args.maildir, verbose=True)
    server = RunningMailServer(app, host=args.host, port=args.port, certificate=args.certificate)
    kept = f" (messages also in {args.maildir}/)" if args.maildir else ""
    trusted = f", its certificate in {args.certificate}" if args.certificate else ""
    print(f"Mail stand-in on smtp://{args.host}:{args.port} with STARTTLS{trusted}{kept}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
