"""The "Systemzustand" admin view and the JSON endpoint that monitoring polls."""

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from syndication.alerts import administers_accounts
from syndication.models import Delivery

from .health import HealthCheck


@never_cache
@require_GET
def health_json(request):
    """State and numbers only: no hosts, broker addresses, account names or tokens. 503 when unhealthy."""
    health = HealthCheck().cached()
    body = {
        "status": "ok" if health.ok else "degraded",
        "worker": {"last_heartbeat": iso(health.worker_at), "ok": health.worker_ok},
        "beat": {"last_heartbeat": iso(health.beat_at), "ok": health.beat_ok},
        "queue_depth": health.queue_depth,
        "oldest_pending_seconds": health.oldest_pending_seconds,
        "deliveries_needing_attention": health.needing_attention,
    }
    return JsonResponse(body, status=200 if health.ok else 503)


def iso(moment):
    return moment.isoformat() if moment else None


class SystemHealthView(WagtailAdminTemplateMixin, TemplateView):
    """Measured afresh on every visit; administrators only (they can act on what it shows)."""

    page_title = _("Systemzustand")
    header_icon = "tasks"
    template_name = "monitoring/health.html"
    check_class = HealthCheck

    def dispatch(self, request, *args, **kwargs):
        if not administers_accounts(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        check = self.check_class()
        health = check.measure()
        context.update(
            health=health,
            heartbeat_minutes=int(check.heartbeat_max_age.total_seconds() // 60),
            pending_minutes=int(check.pending_max_age.total_seconds() // 60),
            problem_rows=[
                (Delivery.State(state).label, health.problem_counts.get(state, 0))
                for state in (
                    Delivery.State.FAILED,
                    Delivery.State.NEEDS_ATTENTION,
                    Delivery.State.REMOVE_BY_HAND,
                )
            ],
        )
        return context
