"""What the network modules that speak HTTP through requests share: their transport failures.

A request that never left (refused, no such host, no connection in time) can be
tried again. One whose answer was lost (a read timeout, a connection dropped or an
answer cut short after sending) may have changed something on the network: for a
call that changes something the outcome is unknown, for a read it is merely
transient.
"""

from contextlib import contextmanager

import requests
from django.utils.translation import gettext as _
from urllib3.exceptions import MaxRetryError, NewConnectionError

from ..transport import AddressRefused
from .base import OutcomeUnknown, PermanentError, TransientError


def never_sent(error):
    """True when the connection failed before any byte of the request left (refused, DNS)."""
    cause = error.args[0] if error.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, NewConnectionError)


@contextmanager
def transport_errors(network, *, changes):
    """Turn requests' transport exceptions into the errors delivery acts on; `network` names it for people."""
    lost = OutcomeUnknown if changes else TransientError
    words = {"network": network}
    try:
        yield
    except AddressRefused as error:
        raise PermanentError(error.message) from error
    except requests.ConnectTimeout as error:
        raise TransientError(
            _("%(network)s hat die Verbindung nicht angenommen: %(reason)s") % {**words, "reason": error}
        ) from error
    except requests.ConnectionError as error:
        if never_sent(error):
            raise TransientError(
                _("%(network)s ist nicht erreichbar: %(reason)s") % {**words, "reason": error}
            ) from error
        raise lost(
            _("Die Verbindung zu %(network)s brach nach dem Senden ab: %(reason)s")
            % {**words, "reason": error}
        ) from error
    except (requests.ReadTimeout, requests.exceptions.ChunkedEncodingError) as error:
        raise lost(
            _("%(network)s hat nicht rechtzeitig oder nicht vollständig geantwortet: %(reason)s")
            % {**words, "reason": error}
        ) from error
