"""Commits an editorial action in the admin together with the seals of the entries it logs."""

from django.db import transaction


class AtomicAdminWritesMiddleware:
    """Runs every writing request under the admin in one transaction, so that an
    action, its log entries and their seals are committed together or not at all."""

    path_prefix = "/admin/"
    safe_methods = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in self.safe_methods or not request.path_info.startswith(self.path_prefix):
            return self.get_response(request)
        with transaction.atomic():
            response = self.get_response(request)
            # Django turns a view's exception into a 500 response before it gets here,
            # so the block would otherwise commit a half-done action.
            if response.status_code >= 500:
                transaction.set_rollback(True)
            return response
