"""No module of the project opens a connection of its own: the outbound transport is the one way out."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The transport itself, the stand-ins and the instruments that measure from outside.
EXEMPT = {"syndication/transport.py"}
EXEMPT_FOLDERS = ("sandbox/", "tests/", "bench/", ".venv/", "var/")
# Calls that open a connection without the transport (module, attribute).
DIRECT = {
    ("requests", "Session"),
    ("requests", "get"),
    ("requests", "post"),
    ("requests", "put"),
    ("requests", "patch"),
    ("requests", "delete"),
    ("requests", "head"),
    ("requests", "request"),
    ("httpx", "Client"),
    ("httpx", "AsyncClient"),
    ("httpx", "get"),
    ("httpx", "post"),
    ("httpx", "request"),
    ("urllib.request", "urlopen"),
    ("http.client", "HTTPConnection"),
    ("http.client", "HTTPSConnection"),
    ("socket", "create_connection"),
    ("httplib2", "Http"),
    ("smtplib", "SMTP"),
    ("smtplib", "SMTP_SSL"),
    ("google.auth.transport.requests", "AuthorizedSession"),
}
# Classes that open connections, subclassed only behind the transport's class that pins them.
GUARDED_BASES = {
    ("requests", "Session"): "OutboundSession",
    ("google.auth.transport.requests", "AuthorizedSession"): "OutboundSession",
    ("smtplib", "SMTP"): "PinnedSMTPMixin",
    ("smtplib", "SMTP_SSL"): "PinnedSMTPMixin",
}


def project_modules():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in EXEMPT or relative.startswith(EXEMPT_FOLDERS):
            continue
        yield relative, path


def direct_calls(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = [qualified(base, imported) for base in node.bases]
            names = {name for _, name in bases}
            for module, name in bases:
                guard = GUARDED_BASES.get((module, name))
                if guard is not None and guard not in names:
                    yield f"{node.lineno}: class {node.name}({module}.{name})"
        if not isinstance(node, ast.Call):
            continue
        module, name = qualified(node.func, imported)
        if (module, name) in DIRECT:
            yield f"{node.lineno}: {module}.{name}"
        if (module, name) == ("pywebpush", "webpush") and "requests_session" not in {
            k.arg for k in node.keywords
        }:
            yield f"{node.lineno}: pywebpush.webpush without the transport's session"


def qualified(expression, imported):
    """(module, name) of `module.name` or of a name imported from a module; ("", "") otherwise."""
    if isinstance(expression, ast.Attribute) and isinstance(expression.value, ast.Name):
        return imported.get(expression.value.id, expression.value.id), expression.attr
    if isinstance(expression, ast.Attribute) and isinstance(expression.value, ast.Attribute):
        return ast.unparse(expression.value), expression.attr
    if isinstance(expression, ast.Name):
        module, _, name = imported.get(expression.id, "").rpartition(".")
        return module, name or expression.id
    return "", ""


@pytest.mark.parametrize("relative", [relative for relative, _ in project_modules()])
def test_no_module_opens_a_connection_of_its_own(relative):
    assert list(direct_calls(ROOT / relative)) == []


def test_the_check_would_see_a_module_that_bypasses_the_transport(tmp_path):
    module = tmp_path / "rogue.py"
    module.write_text(
        "import requests\nfrom httpx import Client\nfrom pywebpush import webpush\n"
        "requests.get('http://x')\nClient()\nwebpush({}, 'hi')\n"
        "class Own(requests.Session):\n    pass\n"
        "import smtplib\nclass Relay(smtplib.SMTP):\n    pass\n"
    )

    assert set(direct_calls(module)) == {
        "4: requests.get",
        "5: httpx.Client",
        "6: pywebpush.webpush without the transport's session",
        "7: class Own(requests.Session)",
        "10: class Relay(smtplib.SMTP)",
    }
