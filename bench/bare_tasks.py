"""The fan-out benchmark's baseline: a plain Celery task that sends one bare HTTP POST.

The benchmark's worker loads it with `--include bench.bare_tasks`; the portal never does.
"""

import time

import requests
from celery import shared_task


@shared_task(name="bench.bare_post")
def bare_post(url, token, body):
    """POST `body` with the bearer token; return when the answer was in, as epoch seconds."""
    response = requests.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    response.raise_for_status()
    return time.time()
