"""Errors stored before redaction existed are redacted on upgrade."""

from importlib import import_module

from django.apps import apps

from syndication.models import ChannelAccount, Delivery, DeliveryAttempt

migration = import_module("syndication.migrations.0011_redact_stored_errors")
TOKEN = "EAAGm0PX4ZCpsBAKZold-page-token"


def test_stored_errors_and_responses_lose_the_accounts_token(portal):
    account = ChannelAccount(network="facebook", name="Stadt", base_url="https://graph.facebook.com")
    account.set_credentials({"access_token": TOKEN, "page_id": "1234"})
    account.credentials_error = f"Token {TOKEN} abgelaufen"
    account.save()
    delivery = Delivery.objects.create(
        page=portal["museum"],
        account=account,
        text="Museumsnacht",
        state=Delivery.State.FAILED,
        last_error=f"GET https://graph.facebook.com/v24.0/1234/feed?access_token={TOKEN} refused",
    )
    attempt = DeliveryAttempt.objects.create(
        delivery=delivery,
        action=delivery.action,
        payload={"text": "Museumsnacht"},
        error=f"refused: access_token={TOKEN}",
        response={"body": f"<Response> {TOKEN}", "status": 500},
    )

    migration.redact_stored_errors(apps, None)

    account.refresh_from_db()
    delivery.refresh_from_db()
    attempt.refresh_from_db()
    stored = [account.credentials_error, delivery.last_error, attempt.error, str(attempt.response)]
    assert not [text for text in stored if TOKEN in text]
    assert "access_token=[entfernt]" in delivery.last_error
    assert attempt.response["status"] == 500
