"""The "Kommentare" admin area: citizens' comments routed to a moderator's groups, decided and answered.

Who moderates a comment is decided by ModerationRoute, not by Django permissions:
a custom permission policy says so once, and the listing, the single and bulk
decisions and the answer form all ask it on the server.
"""

import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import django_filters
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404
from django.shortcuts import get_list_or_404, get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django.views.generic import FormView, TemplateView
from wagtail import hooks
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.menu import MenuItem as AdminMenuItem
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.sidebar import LinkMenuItem
from wagtail.admin.ui.tables import (
    BulkActionsCheckboxColumn,
    Column,
    DateColumn,
    StatusFlagColumn,
    StatusTagColumn,
    TitleColumn,
)
from wagtail.admin.utils import get_valid_next_url_from_request
from wagtail.admin.views.bulk_action import BulkAction
from wagtail.admin.views.generic import IndexView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.log_actions import log
from wagtail.log_actions import registry as log_registry
from wagtail.models import Page
from wagtail.permission_policies import BasePermissionPolicy
from wagtail.permissions import register_permission_policy

from . import excerpts
from .channels.base import ChannelError
from .forms import forbidden, too_long, unmeasurable
from .models import ChannelAccount, Delivery, ImportedComment, ModerationRoute
from .moderation import awaiting, routed
from .signal_handlers import enqueue

State = ImportedComment.State
HOME_PANEL_ROWS = 10


# Routing


class CommentPermissionPolicy(BasePermissionPolicy):
    """Moderators are the groups a route names: they may see, decide and answer their comments.

    Nobody adds or deletes: comments come only from the import, and a citizen's text
    is never edited here. Answering is the moderation desk's job, so it needs the
    route, not the right to send to the account.
    """

    actions = frozenset({"view", "change", "answer"})
    # Asked once per row by the listing; remembered on the request's user.
    permission_cache_name = "_stadtfunk_comment_permissions"

    def get_all_permissions_for_user(self, user):
        if not user.is_active:
            return set()
        if user.is_superuser or ModerationRoute.objects.filter(group__in=user.groups.all()).exists():
            return set(self.actions)
        return set()

    def user_has_permission(self, user, action):
        return action in self.get_cached_permissions_for_user(user)

    def user_has_permission_for_instance(self, user, action, instance):
        return self.user_has_permission(user, action) and routed(user).filter(pk=instance.pk).exists()

    def instances_user_has_any_permission_for(self, user, actions):
        if any(self.user_has_permission(user, action) for action in actions):
            return routed(user)
        return ImportedComment.objects.none()

    def users_with_any_permission(self, actions):
        User = get_user_model()
        if not self.actions.intersection(actions):
            return User.objects.none()
        moderators = Q(is_superuser=True) | Q(groups__in=ModerationRoute.objects.values("group"))
        return User.objects.filter(moderators, is_active=True).distinct()


comment_policy = CommentPermissionPolicy(ImportedComment)
register_permission_policy(ImportedComment, comment_policy)


# Decisions and answers


@dataclass(frozen=True)
class Decision:
    state: str
    log_action: str
    log_label: str
    label: str
    icon: str
    question: str
    done: str


DECISIONS = {
    "approve": Decision(
        State.APPROVED,
        "stadtfunk.comment.approved",
        _("Kommentar freigegeben"),
        _("Freigeben"),
        "check",
        _("Der Kommentar wird auf der Seite im Portal gezeigt."),
        ngettext_lazy("%(count)d Kommentar freigegeben.", "%(count)d Kommentare freigegeben.", "count"),
    ),
    "hide": Decision(
        State.HIDDEN,
        "stadtfunk.comment.hidden",
        _("Kommentar verborgen"),
        _("Verbergen"),
        "no-view",
        _("Der Kommentar wird im Portal nicht gezeigt. Im Netzwerk bleibt er stehen."),
        ngettext_lazy("%(count)d Kommentar verborgen.", "%(count)d Kommentare verborgen.", "count"),
    ),
    "spam": Decision(
        State.SPAM,
        "stadtfunk.comment.spam",
        _("Kommentar als Spam markiert"),
        _("Als Spam markieren"),
        "warning",
        _("Der Kommentar wird als Spam markiert und im Portal nicht gezeigt. Im Netzwerk bleibt er stehen."),
        ngettext_lazy(
            "%(count)d Kommentar als Spam markiert.", "%(count)d Kommentare als Spam markiert.", "count"
        ),
    ),
}
ANSWERED = "stadtfunk.comment.answered"
COMMENT_LOG_ACTIONS = {
    **{decision.log_action: decision.log_label for decision in DECISIONS.values()},
    ANSWERED: _("Kommentar beantwortet"),
}


def log_title(comment):
    # The sealed record cannot forget; it names the comment, not its author or words.
    return _("Kommentar #%(pk)s") % {"pk": comment.pk}


def refresh_on_portal(page_id):
    """Once committed, the portal's page shows its comments as they now stand."""

    def refresh():
        # Imported here: the portal side of the discussion is its own module.
        from .discussion import comments_changed

        comments_changed(page_id)

    transaction.on_commit(refresh)


def decide(comments, decision, user):
    """Set each comment's state, record who decided, log it; pages whose public comments changed refresh."""
    now = timezone.now()
    changed_pages = set()
    with transaction.atomic():
        for comment in comments:
            previous = comment.state
            comment.state = decision.state
            comment.moderated_by = user
            comment.moderated_at = now
            comment.save(update_fields=["state", "moderated_by", "moderated_at", "updated_at"])
            log(
                instance=comment,
                action=decision.log_action,
                user=user,
                title=log_title(comment),
                data={
                    "previous_state": previous,
                    "page_id": comment.page_id,
                    "account_id": comment.account_id,
                },
            )
            if State.APPROVED in {previous, decision.state}:
                changed_pages.add(comment.page_id)
        for page_id in sorted(changed_pages):
            refresh_on_portal(page_id)
    return len(comments)


def answer(comment, text, user, key):
    """The city's reply under the comment, sent by the delivery machinery; an answered comment is public.

    `key` comes with the form: a second click on "send" finds the first answer and adds none.
    """
    with transaction.atomic():
        # Two submissions arriving together: the second waits here, then finds the first's answer.
        ImportedComment.objects.select_for_update().filter(pk=comment.pk).first()
        delivery, created = Delivery.objects.get_or_create(
            comment=comment,
            idempotency_key=key,
            defaults={
                "page_id": comment.page_id,
                "account": comment.account,
                "text": text,
                "requested_by": user,
                "action": Delivery.Action.PUBLISH,
                "state": Delivery.State.PENDING,
            },
        )
        if not created:
            return delivery
        log(
            instance=comment,
            action=ANSWERED,
            user=user,
            title=log_title(comment),
            data={"delivery_id": delivery.pk, "account_id": comment.account_id, "text": text},
        )
        if comment.state != State.APPROVED:
            decide([comment], DECISIONS["approve"], user)
        enqueue([delivery.pk])
    return delivery


# Forms


class CommentFilterSet(WagtailFilterSet):
    account = django_filters.ModelChoiceFilter(label=_("Konto"), queryset=ChannelAccount.objects.all())
    # Reached from a page's "Verteilung": the pages that have comments, not every page.
    page = django_filters.ModelChoiceFilter(
        label=_("Seite"), queryset=Page.objects.filter(imported_comments__isnull=False).distinct()
    )

    class Meta:
        model = ImportedComment
        fields = ["state", "account", "urgent"]


SEARCH_FIELDS = ["text", "author_name", "author_handle"]


def in_listing(user, params):
    """The comments the listing shows for these filters and this search: what "select all" acts on."""
    comments = CommentFilterSet(params, queryset=routed(user)).qs
    query = params.get("q", "").strip()
    if query:
        matches = Q(pk__in=[])
        for field in SEARCH_FIELDS:
            matches |= Q(**{f"{field}__icontains": query})
        comments = comments.filter(matches)
    return comments


class AnswerForm(forms.Form):
    text = forms.CharField(label=_("Antwort der Stadt"), widget=forms.Textarea(attrs={"rows": 5}))
    key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, account, to_handle="", **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        # The network may put the person's handle in front (Mastodon); that counts too.
        self.to_handle = to_handle
        self.fields["text"].help_text = _(
            "Wird bei %(account)s als Antwort unter dem Kommentar veröffentlicht und gibt ihn frei."
        ) % {"account": account}

    def clean_text(self):
        text = self.cleaned_data["text"]
        try:
            measurement = excerpts.measure(
                self.account, self.account.channel().answer_text(text, self.to_handle)
            )
        except ChannelError as error:
            raise forms.ValidationError(unmeasurable(self.account, error)) from error
        if measurement.overflow:
            raise forms.ValidationError(too_long(self.account, measurement))
        return text


# Views


def excerpt(comment):
    return Truncator(comment.text).chars(100)


def author(comment):
    return (
        f"{comment.author_name} ({comment.author_handle})" if comment.author_handle else comment.author_name
    )


def page_edit_url(comment):
    return reverse("wagtailadmin_pages:edit", args=[comment.page_id])


def import_troubles():
    """Accounts whose last import skipped replies or whose refresh held deletions back: said above the list."""
    return ChannelAccount.objects.filter(Q(replies_skipped__gt=0) | Q(deletions_held__gt=0)).order_by(
        "network", "name"
    )


class CommentIndexView(IndexView):
    """Routed comments, what waits for a decision first; a row's menu decides it, the footer decides many."""

    decide_url_name = None

    def get_base_queryset(self):
        return routed(self.request.user).select_related("account", "page")

    def order_queryset(self, queryset):
        if self.ordering:
            return super().order_queryset(queryset)
        waiting_first = Case(
            When(state=State.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return queryset.annotate(waiting=waiting_first).order_by("waiting", "-urgent", "-posted_at", "-pk")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["import_troubles"] = import_troubles()
        return context

    @cached_property
    def columns(self):
        return [
            BulkActionsCheckboxColumn("bulk_actions", obj_type="comment"),
            self._get_title_column_class(TitleColumn)(
                "text",
                label=_("Kommentar"),
                accessor=excerpt,
                get_url=self.get_edit_url,
                get_title_id=lambda comment: f"comment_{comment.pk}_title",
            ),
            Column("author", label=_("Verfasst von"), accessor=author, sort_key="author_name"),
            Column("account", label=_("Konto"), sort_key="account__name"),
            TitleColumn("page", label=_("Seite"), accessor="page.title", get_url=page_edit_url),
            StatusTagColumn(
                "get_state_display",
                label=_("Status"),
                sort_key="state",
                primary=lambda comment: comment.state == State.PENDING,
            ),
            StatusFlagColumn("urgent", label=_("Dringend"), true_label=_("dringend"), sort_key="urgent"),
            DateColumn("posted_at", label=_("Geschrieben"), sort_key="posted_at"),
        ]

    def get_list_more_buttons(self, instance):
        buttons = [
            MenuItem(_("Prüfen und antworten"), self.get_edit_url(instance), icon_name="edit", priority=10)
        ]
        query = urlencode({"next": self.index_url})
        for priority, (key, decision) in enumerate(DECISIONS.items(), start=20):
            if instance.state != decision.state:
                url = reverse(self.decide_url_name, args=[instance.pk, key])
                buttons.append(
                    MenuItem(decision.label, f"{url}?{query}", icon_name=decision.icon, priority=priority)
                )
        return buttons


class CommentView(WagtailAdminTemplateMixin):
    """One comment, refused to anyone whose groups no route names for it; checked on every request."""

    header_icon = "comment"
    index_url_name = None
    edit_url_name = None
    decide_url_name = None

    def dispatch(self, request, *args, **kwargs):
        self.comment = get_object_or_404(
            ImportedComment.objects.select_related("account", "page", "moderated_by"), pk=kwargs["pk"]
        )
        if not comment_policy.user_has_permission_for_instance(request.user, "change", self.comment):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return author(self.comment)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(self.index_url_name), "label": ImportedComment._meta.verbose_name_plural},
            {"url": "", "label": self.get_page_title(), "sublabel": self.get_page_subtitle()},
        ]

    @cached_property
    def edit_url(self):
        return reverse(self.edit_url_name, args=[self.comment.pk])


class ModerateCommentView(CommentView, FormView):
    """The comment as the network had it, its answers, the decisions, and the form for the city's answer."""

    template_name = "syndication/comments/moderate.html"
    page_title = _("Kommentar prüfen")
    form_class = AnswerForm

    @cached_property
    def may_answer(self):
        return comment_policy.user_has_permission_for_instance(self.request.user, "answer", self.comment)

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "account": self.comment.account,
            "to_handle": self.comment.author_handle,
        }

    def post(self, request, *args, **kwargs):
        if not self.may_answer:
            raise PermissionDenied
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        answer(self.comment, form.cleaned_data["text"], self.request.user, form.cleaned_data["key"])
        messages.success(
            self.request,
            _("Die Antwort wird an %(account)s gesendet. Der Kommentar ist freigegeben.")
            % {"account": self.comment.account},
        )
        return redirect(self.edit_url)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        comment = self.comment
        context.update(
            comment=comment,
            decisions=[
                {"label": decision.label, "url": reverse(self.decide_url_name, args=[comment.pk, key])}
                for key, decision in DECISIONS.items()
                if decision.state != comment.state
            ],
            answers=comment.answers.select_related("requested_by").order_by("created_at", "pk"),
            history=log_registry.get_logs_for_instance(comment).select_related("user"),
            may_answer=self.may_answer,
            forbidden=forbidden(comment.account),
        )
        return context


class DecideCommentView(CommentView, TemplateView):
    """Ask once (from the listing's menu), then decide; the detail view's buttons post here directly."""

    template_name = "syndication/comments/confirm_decision.html"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.decision = DECISIONS.get(kwargs["decision"])
        if self.decision is None:
            raise Http404

    def get_page_title(self):
        return self.decision.label

    @cached_property
    def next_url(self):
        return get_valid_next_url_from_request(self.request) or self.edit_url

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(comment=self.comment, decision=self.decision, next_url=self.next_url)
        return context

    def post(self, request, *args, **kwargs):
        count = decide([self.comment], self.decision, request.user)
        messages.success(request, self.decision.done % {"count": count})
        return redirect(self.next_url)


# Bulk actions


class CommentBulkAction(BulkAction):
    """Many comments at once, after one confirmation; the ones not routed to the user stay as they are."""

    models = [ImportedComment]
    template_name = "syndication/comments/confirm_bulk_decision.html"
    decision_key = None

    @classmethod
    def get_queryset(cls, model, object_ids):
        return get_list_or_404(model.objects.select_related("account", "page"), pk__in=object_ids)

    def get_all_objects_in_listing_query(self, parent_id):
        return in_listing(self.request.user, self.request.GET).values_list("pk", flat=True)

    @cached_property
    def decision(self):
        return DECISIONS[self.decision_key]

    @cached_property
    def permitted(self):
        ids = self.request.GET.getlist("id")
        comments = routed(self.request.user)
        if "all" not in ids:
            comments = comments.filter(pk__in=ids)
        return set(comments.values_list("pk", flat=True))

    def check_perm(self, comment):
        return comment.pk in self.permitted

    def object_context(self, comment):
        return {"item": comment, "excerpt": excerpt(comment), "author": author(comment)}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "decision": self.decision, "header_icon": "comment"}

    def get_execution_context(self):
        return {"user": self.request.user, "decision": self.decision}

    @classmethod
    def execute_action(cls, objects, user=None, decision=None, **kwargs):
        return decide(objects, decision, user), 0

    def get_success_message(self, num_parent_objects, num_child_objects):
        return self.decision.done % {"count": num_parent_objects}


@hooks.register("register_bulk_action")
class ApproveBulkAction(CommentBulkAction):
    display_name = DECISIONS["approve"].label
    action_type = "approve"
    aria_label = _("Ausgewählte Kommentare freigeben")
    decision_key = "approve"
    action_priority = 10


@hooks.register("register_bulk_action")
class HideBulkAction(CommentBulkAction):
    display_name = DECISIONS["hide"].label
    action_type = "hide"
    aria_label = _("Ausgewählte Kommentare verbergen")
    decision_key = "hide"
    action_priority = 20


@hooks.register("register_bulk_action")
class SpamBulkAction(CommentBulkAction):
    display_name = DECISIONS["spam"].label
    action_type = "spam"
    aria_label = _("Ausgewählte Kommentare als Spam markieren")
    decision_key = "spam"
    action_priority = 30


# Menu, viewsets, home panel


class CommentsMenuItem(AdminMenuItem):
    """Says how many comments wait for the user, so nobody has to open the listing to find out."""

    def is_shown(self, request):
        return comment_policy.user_has_permission(request.user, "change")

    def render_component(self, request):
        count = awaiting(request.user).count()
        label = f"{self.label} ({count})" if count else self.label
        return LinkMenuItem(
            self.name, label, self.url, icon_name=self.icon_name, classname=self.classname, attrs=self.attrs
        )


class CommentViewSet(ModelViewSet):
    model = ImportedComment
    icon = "comment"
    menu_label = _("Kommentare")
    menu_order = 250
    add_to_admin_menu = True
    menu_item_class = CommentsMenuItem
    url_prefix = "comments"
    index_view_class = CommentIndexView
    index_template_name = "syndication/comments/index.html"
    filterset_class = CommentFilterSet
    search_fields = SEARCH_FIELDS
    # Comments are personal data: they stay out of pages' usage listings.
    add_to_reference_index = False
    copy_view_enabled = False

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(decide_url_name=self.get_url_name("decide"), **kwargs)

    def get_urlpatterns(self):
        # No add, edit or delete: comments come from the import, and their text is the citizen's.
        # The moderation view is named "edit" so the admin's links to a comment lead there.
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("<int:pk>/", self.construct_view(ModerateCommentView), name="edit"),
            path("<int:pk>/<slug:decision>/", self.construct_view(DecideCommentView), name="decide"),
        ]

    def get_permissions_to_register(self):
        # Routes, not these permissions, make a moderator; offering them in the group editor would mislead.
        return Permission.objects.none()


class ModerationRouteViewSet(ModelViewSet):
    model = ModerationRoute
    icon = "group"
    add_to_settings_menu = True
    menu_label = _("Moderation: Zuständigkeiten")
    list_display = ["__str__"]
    list_filter = ["group"]
    copy_view_enabled = False

    def get_index_view_kwargs(self, **kwargs):
        routes = ModerationRoute.objects.select_related("section", "account", "group")
        return super().get_index_view_kwargs(queryset=routes, **kwargs)


class CommentsAwaitingPanel(Component):
    name = "stadtfunk_comments_awaiting"
    order = 40
    template_name = "syndication/comments/home_panel.html"

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context):
        if not comment_policy.user_has_permission(self.user, "change"):
            return {"total": 0}
        waiting = awaiting(self.user)
        return {
            "comments": waiting.select_related("account", "page").order_by("-urgent", "-posted_at", "-pk")[
                :HOME_PANEL_ROWS
            ],
            "total": waiting.count(),
            "index_url": reverse("imported_comments:index"),
        }


@hooks.register("register_admin_viewset")
def register_comment_viewset():
    return CommentViewSet("imported_comments")


@hooks.register("register_admin_viewset")
def register_moderation_route_viewset():
    return ModerationRouteViewSet("moderation_routes")


@hooks.register("register_log_actions")
def register_comment_log_actions(actions):
    for action, label in COMMENT_LOG_ACTIONS.items():
        actions.register_action(action, label, label)


@hooks.register("construct_homepage_panels")
def add_comments_awaiting_panel(request, panels):
    panels.append(CommentsAwaitingPanel(request.user))
