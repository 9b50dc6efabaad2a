"""The "Protokoll" report: page and model log entries together, newest first, with each entry's seal."""

import datetime
from collections import defaultdict

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import CharField, Q, Value
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.paginator import WagtailPaginator
from wagtail.admin.views.generic.history import HistoryFilterSet
from wagtail.admin.views.reports.audit_logging import LogEntriesView
from wagtail.admin.widgets import AdminPageChooser
from wagtail.log_actions import registry as log_action_registry
from wagtail.models import Page, PageLogEntry

from .models import AuditSeal, LogKind
from .permissions import permission_policy
from .sealing import LOG_MODELS, seal_is_valid, sealed_fields

SEAL_INTACT = _("intakt")
SEAL_CHANGED = _("verändert")
SEAL_MISSING = _("fehlt")


class AuditLogFilterSet(HistoryFilterSet):
    """Wagtail's action, user and date filters over both log tables, plus the page."""

    page = django_filters.ModelChoiceFilter(
        label=_("Seite"),
        queryset=Page.objects.all(),
        widget=AdminPageChooser(can_choose_root=True),
        method="filter_page",
    )
    label = django_filters.CharFilter(label=_("Bezeichnung enthält"), lookup_expr="icontains")

    class Meta:
        model = PageLogEntry
        fields = []

    def filter_page(self, queryset, name, value):
        if queryset.model is not PageLogEntry:
            return queryset.none()
        return queryset.filter(page=value)

    def get_action_choices(self):
        actions = set().union(*(log_model.objects.all().get_actions() for log_model in LOG_MODELS.values()))
        return [choice for choice in log_action_registry.get_choices() if choice[0] in actions]

    def get_users_queryset(self):
        user_ids = set().union(*(log_model.objects.all().get_user_ids() for log_model in LOG_MODELS.values()))
        User = get_user_model()
        return User.objects.filter(pk__in=user_ids).order_by(User.USERNAME_FIELD)


class LogEntryPaginator(WagtailPaginator):
    # The rows come from a union that Django reports as page log entries.
    verbose_name = _("Protokolleintrag")
    verbose_name_plural = _("Protokolleinträge")


class AuditLogView(LogEntriesView):
    page_title = _("Protokoll")
    results_template_name = "audit/audit_log_results.html"
    filterset_class = AuditLogFilterSet
    paginator_class = LogEntryPaginator
    index_url_name = "audit:log"
    index_results_url_name = "audit:log_results"
    permission_policy = permission_policy
    permission_required = "view"

    export_headings = {
        "object_id": _("ID"),
        "label": _("Bezeichnung"),
        "content_type": _("Typ"),
        "action": _("Aktion"),
        "user_display_name": _("Benutzer"),
        "timestamp": _("Zeitpunkt (UTC)"),
        "seal_status": _("Siegel"),
    }
    list_export = [*LogEntriesView.list_export, "seal_status"]

    def get_filename(self):
        return f"protokoll-{datetime.date.today():%Y-%m-%d}"

    def get_filtered_queryset(self):
        """Both log tables as one union of (pk, timestamp, kind) rows; Wagtail's
        LogEntriesView does the same, but only over what the user may edit."""
        queryset = None
        for kind, log_model in LOG_MODELS.items():
            rows = log_model.objects.values("pk", "timestamp").annotate(
                kind=Value(kind.value, output_field=CharField())
            )
            rows = self.filter_queryset(rows).order_by()
            queryset = rows if queryset is None else queryset.union(rows, all=True)
        return queryset.order_by("-timestamp", "-pk")

    def decorate_paginated_queryset(self, rows):
        """The entries behind one page of rows, in a fixed number of queries."""
        pks_by_kind = defaultdict(list)
        for row in rows:
            pks_by_kind[row["kind"]].append(row["pk"])
        entries = {}
        for kind, pks in pks_by_kind.items():
            log_model = LOG_MODELS[kind]
            for entry in log_model.objects.prefetch_related(
                "user__wagtail_userprofile", "content_type"
            ).filter(pk__in=pks):
                entries[kind, entry.pk] = entry
        seals = self.seals_for(pks_by_kind)
        page_ids = [entries[LogKind.PAGE, pk].page_id for pk in pks_by_kind[LogKind.PAGE]]
        existing_pages = set(Page.objects.filter(pk__in=page_ids).values_list("pk", flat=True))

        decorated = []
        for row in rows:
            kind = row["kind"]
            entry = entries[kind, row["pk"]]
            entry.seal_status = self.seal_status(kind, entry, seals.get((kind, entry.pk)))
            entry.edit_url = None
            if kind == LogKind.PAGE and entry.page_id in existing_pages:
                entry.edit_url = reverse("wagtailadmin_pages:edit", args=[entry.page_id])
            decorated.append(entry)
        return decorated

    def seals_for(self, pks_by_kind):
        query = Q()
        for kind, pks in pks_by_kind.items():
            query |= Q(kind=kind, entry_id__in=pks)
        if not query:
            return {}
        return {(seal.kind, seal.entry_id): seal for seal in AuditSeal.objects.filter(query)}

    def seal_status(self, kind, entry, seal):
        """Whether the entry still reads as sealed; the links between seals are the
        business of `verify_audit_log`."""
        if seal is None:
            return SEAL_MISSING
        row = {name: getattr(entry, name) for name in sealed_fields(kind)}
        return SEAL_INTACT if seal_is_valid(seal, kind, row) else SEAL_CHANGED
