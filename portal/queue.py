"""What the broker holds: messages waiting in a queue, for the sweep now and the health view later."""

import logging

from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)


def waiting_messages(queue=None):
    """Messages waiting in `queue` (default: Celery's default queue), or None if the broker cannot say.

    Messages a worker has already taken (prefetched or running) do not count.
    A queue the broker does not know yet is empty.
    """
    from .celery import app

    queue = queue or app.conf.task_default_queue
    with app.connection_for_read() as connection:
        try:
            connection.ensure_connection(max_retries=1)
            with connection.channel() as channel:
                return channel.queue_declare(queue=queue, passive=True).message_count
        except connection.channel_errors as error:
            if "NOT_FOUND" in str(error):
                return 0
            logger.warning("Cannot read the length of queue %r: %s", queue, error)
        except (*connection.connection_errors, OperationalError, OSError) as error:
            logger.warning("Cannot read the length of queue %r: %s", queue, error)
    return None
