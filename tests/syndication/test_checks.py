"""`check --deploy` refuses CREDENTIAL_KEYS that are missing, no Fernet keys, or the repository's throwaways."""

import pytest

from syndication.checks import check_credential_keys

FRESH_KEY = "eZqMZVniQ-uy5n9AO9L7ilmRFsCgQCnDlhAxb4zdfaM="
OLDER_KEY = "ixcOnP9IMW0x8tnFJOzjmbtZW1FWUlbmNb8SOPoh51o="


def ids(messages):
    return [message.id for message in messages]


def test_fernet_keys_of_ones_own_pass(settings):
    settings.CREDENTIAL_KEYS = [FRESH_KEY, OLDER_KEY]

    assert check_credential_keys(None) == []


def test_no_keys_at_all_are_refused(settings):
    settings.CREDENTIAL_KEYS = []

    assert ids(check_credential_keys(None)) == ["stadtfunk.E002"]


@pytest.mark.parametrize(
    "invalid",
    ["x", FRESH_KEY[:-2], "geheim-" * 6, pytest.param("bnVyIHNlY2h6ZWhuIEJ5dA==", id="16 bytes")],
)
def test_a_key_that_is_no_fernet_key_is_refused_by_its_place(settings, invalid):
    settings.CREDENTIAL_KEYS = [FRESH_KEY, invalid]

    (error,) = check_credential_keys(None)

    assert error.id == "stadtfunk.E003"
    assert error.msg.startswith("Key 2 in CREDENTIAL_KEYS is no Fernet key")
    assert invalid not in error.msg + error.hint


@pytest.mark.parametrize(
    "throwaway",
    [
        pytest.param("ZGV2LW9ubHktaW5zZWN1cmUtY3JlZGVudGlhbC1rZXk=", id="dev.py"),
        pytest.param("dGVzdC1vbmx5LWluc2VjdXJlLWNyZWRlbnRpYWwtayE=", id="test.py"),
    ],
)
def test_the_repositorys_throwaway_keys_are_refused(settings, throwaway):
    settings.CREDENTIAL_KEYS = [throwaway]

    assert ids(check_credential_keys(None)) == ["stadtfunk.E004"]
