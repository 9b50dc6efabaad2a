"""The "Verteilung" overview: every released page as a row, its copy on every account as a cell.

A fixed number of queries whatever the page size: the page of rows, then their copies and the accounts.
"""

import datetime
from collections import OrderedDict
from dataclasses import dataclass

import django_filters
from django.db.models import Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.views.reports import ReportView
from wagtail.models import Page
from wagtail.permission_policies.pages import PagePermissionPolicy

from home.models import SectionPage

from .models import ChannelAccount, Delivery
from .sanitize import web_url

# Those who may see a page's copies (permissions.may_see_deliveries), as a queryset;
# "change" covers the pages an editor with "add" owns.
SEEING = ["change", "publish"]
# Rows whose copies the export fetches with one query.
EXPORT_CHUNK = 1000

page_policy = PagePermissionPolicy()


@dataclass(frozen=True)
class CellState:
    label: str
    icon: str
    tone: str


# What a copy shows in its cell: the delivery's state, except that a posted copy
# that was edited since reads as updated.
CELL_STATES = {
    "posted": CellState(Delivery.State.POSTED.label, "success", "positive"),
    "updated": CellState(_("Aktualisiert"), "rotate", "positive"),
    Delivery.State.PENDING: CellState(Delivery.State.PENDING.label, "time", "neutral"),
    Delivery.State.SENDING: CellState(Delivery.State.SENDING.label, "upload", "neutral"),
    Delivery.State.FAILED: CellState(Delivery.State.FAILED.label, "error", "critical"),
    Delivery.State.NEEDS_ATTENTION: CellState(Delivery.State.NEEDS_ATTENTION.label, "warning", "warning"),
    Delivery.State.RETRACTED: CellState(Delivery.State.RETRACTED.label, "no-view", "neutral"),
    Delivery.State.REMOVE_BY_HAND: CellState(Delivery.State.REMOVE_BY_HAND.label, "bin", "critical"),
    Delivery.State.QUOTA: CellState(Delivery.State.QUOTA.label, "time", "warning"),
}

ON_ITS_WAY = {CELL_STATES[Delivery.State.PENDING], CELL_STATES[Delivery.State.SENDING]}
POLL_SECONDS = 5

STATE_QUERIES = {
    "posted": Q(state=Delivery.State.POSTED) & ~Q(action=Delivery.Action.UPDATE),
    "updated": Q(state=Delivery.State.POSTED, action=Delivery.Action.UPDATE),
    **{state: Q(state=state) for state in CELL_STATES if state not in {"posted", "updated"}},
}


def cell_state_key(delivery):
    if delivery.state == Delivery.State.POSTED:
        return "updated" if delivery.action == Delivery.Action.UPDATE else "posted"
    return delivery.state


@dataclass(frozen=True)
class Cell:
    account: ChannelAccount
    state: CellState
    remote_url: str
    message: str

    def as_text(self):
        """The cell in the export; a spreadsheet may make a link of any URL, so only an http(s) one is written."""
        return " – ".join(
            str(part) for part in (self.state.label, web_url(self.remote_url), self.message) if part
        )


@dataclass(frozen=True)
class Publication:
    """One row: a page, its section and its copy on each of the listed accounts (None: no copy)."""

    page: Page
    section: str
    cells: list

    @property
    def title(self):
        return self.page.get_admin_display_title()

    @property
    def deliveries_url(self):
        return reverse("syndication_page_deliveries", args=[self.page.pk])

    @property
    def edit_url(self):
        return reverse("wagtailadmin_pages:edit", args=[self.page.pk])


def released_pages(user):
    """Pages with at least one copy that the user may see the copies of, with the time of their last change."""
    copies = Delivery.objects.copies().filter(page=OuterRef("pk"))
    pages = Page.objects.filter(Exists(copies)) & page_policy.instances_user_has_any_permission_for(
        user, SEEING
    )
    return pages.annotate(
        last_change=Subquery(copies.order_by("-updated_at").values("updated_at")[:1]),
    )


class PublicationFilterSet(WagtailFilterSet):
    section = django_filters.ModelChoiceFilter(
        label=_("Themenbereich"),
        queryset=SectionPage.objects.order_by("title"),
        method="filter_section",
    )
    account = django_filters.ModelChoiceFilter(
        label=_("Konto"), queryset=ChannelAccount.objects.all(), method="filter_account"
    )
    state = django_filters.ChoiceFilter(
        label=_("Zustand"),
        choices=[(key, state.label) for key, state in CELL_STATES.items()],
        method="filter_state",
    )
    released = django_filters.DateFromToRangeFilter(
        label=_("Zuletzt freigegeben"), field_name="last_published_at", widget=DateRangePickerWidget
    )
    changed = django_filters.DateFromToRangeFilter(
        label=_("Letzte Änderung"), field_name="last_change", widget=DateRangePickerWidget
    )

    class Meta:
        model = Page
        fields = []

    def filter_section(self, queryset, name, section):
        return queryset.descendant_of(section)

    # The pages come from a list of their copies rather than a look per page: the state's
    # index finds the few failed copies among many at once.

    def filter_account(self, queryset, name, account):
        if self.form.cleaned_data.get("state"):
            return queryset  # filter_state looks at the state of this account's copy
        return queryset.filter(pk__in=Delivery.objects.copies().filter(account=account).values("page_id"))

    def filter_state(self, queryset, name, state):
        copies = Delivery.objects.copies().filter(STATE_QUERIES[state])
        if account := self.form.cleaned_data.get("account"):
            copies = copies.filter(account=account)
        return queryset.filter(pk__in=copies.values("page_id"))


class PublicationsView(ReportView):
    page_title = _("Verteilung")
    # Set with the rows: whether one of their copies is pending or sending.
    on_its_way = False
    header_icon = "globe"
    template_name = "syndication/dashboard/index.html"
    results_template_name = "syndication/dashboard/results.html"
    index_url_name = "syndication_dashboard"
    index_results_url_name = "syndication_dashboard_results"
    filterset_class = PublicationFilterSet
    permission_policy = page_policy
    any_permission_required = SEEING
    verbose_name = _("Seite")
    verbose_name_plural = _("Seiten")
    paginate_by = 50
    default_ordering = "-last_change"
    orderings = ("title", "last_change", "last_published_at")

    def get_valid_orderings(self):
        return [*self.orderings, *(f"-{ordering}" for ordering in self.orderings)]

    def get_base_queryset(self):
        return released_pages(self.request.user)

    def get_filtered_queryset(self):
        # ReportView would filter a second time what get_queryset() has filtered.
        return self.get_queryset()

    def order_queryset(self, queryset):
        # The primary key breaks ties, so that a row never shows on two pages of the listing.
        descending = self.ordering.startswith("-")
        return queryset.order_by(self.ordering, "-pk" if descending else "pk")

    @cached_property
    def accounts(self):
        """The columns: the accounts the filtered pages have copies on."""
        if self.filters and self.filters.is_valid() and self.filters.form.cleaned_data.get("account"):
            return [self.filters.form.cleaned_data["account"]]
        pages = self.object_list.order_by().values("pk")
        return list(
            ChannelAccount.objects.filter(
                Exists(Delivery.objects.copies().filter(account=OuterRef("pk"), page__in=pages))
            )
        )

    @cached_property
    def sections(self):
        return dict(SectionPage.objects.values_list("path", "title"))

    def section_of(self, page):
        for depth in range(page.depth - 1, 0, -1):
            title = self.sections.get(page.path[: depth * Page.steplen])
            if title is not None:
                return title
        return ""

    def decorate_paginated_queryset(self, pages):
        if self.is_export:
            return (
                publication
                for start in range(0, len(pages), EXPORT_CHUNK)
                for publication in self.publications(pages[start : start + EXPORT_CHUNK])
            )
        publications = self.publications(pages)
        # The list asks again for its rows while one of their copies is still on its way.
        self.on_its_way = any(
            cell.state in ON_ITS_WAY for publication in publications for cell in publication.cells if cell
        )
        return publications

    def publications(self, pages):
        """Rows for these pages, their copies fetched with one query."""
        pages = list(pages)
        columns = {account.pk: (index, account) for index, account in enumerate(self.accounts)}
        cells = {page.pk: [None] * len(columns) for page in pages}
        copies = Delivery.objects.copies().filter(page__in=cells, account__in=columns)
        for copy in copies.only("page_id", "account_id", "state", "action", "remote_url", "last_error"):
            index, account = columns[copy.account_id]
            cells[copy.page_id][index] = Cell(
                account, CELL_STATES[cell_state_key(copy)], copy.remote_url, copy.last_error
            )
        return [Publication(page, self.section_of(page), cells[page.pk]) for page in pages]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["accounts"] = self.accounts
        context["poll_seconds"] = POLL_SECONDS
        return context

    # The export: one row per page, one column per account with the copy's state and link.

    def get_filename(self):
        return f"verteilung-{datetime.date.today():%Y-%m-%d}"

    @property
    def list_export(self):
        return ["title", "section", "released", "last_change", *(f"account-{a.pk}" for a in self.accounts)]

    @property
    def export_headings(self):
        return {
            "title": _("Seite"),
            "section": _("Themenbereich"),
            "released": _("Zuletzt freigegeben (UTC)"),
            "last_change": _("Letzte Änderung (UTC)"),
            **{f"account-{account.pk}": str(account) for account in self.accounts},
        }

    def preprocess_field_value(self, field, value, export_format):
        value = super().preprocess_field_value(field, value, export_format)
        if export_format == self.FORMAT_XLSX and isinstance(value, str):
            # A network's message may carry control characters, which a worksheet cannot hold.
            return ILLEGAL_CHARACTERS_RE.sub("", value)
        return value

    def to_row_dict(self, publication):
        return OrderedDict(
            [
                ("title", publication.title),
                ("section", publication.section),
                ("released", publication.page.last_published_at),
                ("last_change", publication.page.last_change),
                *(
                    (f"account-{account.pk}", cell.as_text() if cell else "")
                    for account, cell in zip(self.accounts, publication.cells, strict=True)
                ),
            ]
        )


class PublicationsMenuItem(MenuItem):
    def is_shown(self, request):
        return page_policy.user_has_any_permission(request.user, SEEING)
