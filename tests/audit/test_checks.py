"""`check --deploy` refuses an AUDIT_LOG_KEY that can be guessed and warns when the anchor goes nowhere."""

import pytest

from audit.checks import check_anchor_target, check_audit_log_key


def ids(messages):
    return [message.id for message in messages]


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("qoNFk79Q9xrhMy5AxIa2fbC2MU5wdJ87SN3_RIeJwlk", id="43 base64 characters"),
        pytest.param("48a2751b3e1bf08b58f5ad32ce28b3f0186eee5a9d68f1f5bcb50345fd1d0fa7", id="64 hex digits"),
        pytest.param("bQnu2xTTe65xI2xpZJ1lGmilLJfBcG6V3Ix25H-i!?", id="42 characters of any kind"),
    ],
)
def test_a_key_of_32_random_bytes_passes(settings, key):
    settings.AUDIT_LOG_KEY = key

    assert check_audit_log_key(None) == []


@pytest.mark.parametrize(
    "key",
    [
        "x",
        "",
        pytest.param("6b107eae85b8a1120e4137228c54ca9e20ff1b6088986417d4e0576a078197", id="62 hex digits"),
        pytest.param("lnjtZUdW_DAvvmX6_k42kmXo1Hnweg0UQNa7Q178-g", id="42 base64 characters"),
        pytest.param("k3y-" + "Qw9" * 12, id="few distinct characters"),
        "dev-only-insecure-audit-key-do-not-use-in-production",
        "test-only-insecure-audit-key",
        pytest.param("Sehr-Insecure-LUj7qLckJgTadfkFHGT9pX6qK0z992iL_AWspRpuRzM", id="marked insecure"),
    ],
)
def test_a_short_repetitive_or_throwaway_key_is_refused(settings, key):
    settings.AUDIT_LOG_KEY = key

    (error,) = check_audit_log_key(None)

    assert error.id == "stadtfunk.E001"
    assert error.is_serious()


def test_the_refusal_says_what_a_key_needs_but_not_the_key(settings):
    settings.AUDIT_LOG_KEY = "k3y-" + "Qw9" * 12

    (error,) = check_audit_log_key(None)

    assert "32 random bytes" in error.msg
    assert "Qw9" not in error.msg + error.hint


def test_an_anchor_that_goes_nowhere_is_warned_about(settings):
    settings.AUDIT_ANCHOR_FILE = ""
    settings.AUDIT_ANCHOR_EMAILS = []

    assert ids(check_anchor_target(None)) == ["stadtfunk.W001"]


@pytest.mark.parametrize(
    ("anchor_file", "emails"),
    [("/srv/anker/audit-anchors.jsonl", []), ("", ["revision@musterstadt.example"])],
)
def test_an_anchor_file_or_a_keepers_address_is_enough(settings, anchor_file, emails):
    settings.AUDIT_ANCHOR_FILE = anchor_file
    settings.AUDIT_ANCHOR_EMAILS = emails

    assert check_anchor_target(None) == []
