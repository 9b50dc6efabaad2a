"""The four-eyes approval task: nobody releases what they wrote or changed themselves."""

import json

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from wagtail.models import AbstractGroupApprovalTask, Revision

# Keys of a page revision that Wagtail maintains itself; a revision differing from
# its predecessor only in these (or in reviewers' comments) changed no content.
BOOKKEEPING_KEYS = {
    "latest_revision",
    "latest_revision_created_at",
    "has_unpublished_changes",
    "draft_title",
    "live",
    "live_revision",
    "first_published_at",
    "last_published_at",
    "expired",
    "locked",
    "locked_at",
    "locked_by",
    "numchild",
    "path",
    "depth",
    "url_path",
    "wagtail_admin_comments",
}


def substance(content):
    return {key: comparable(value) for key, value in content.items() if key not in BOOKKEEPING_KEYS}


def comparable(value):
    """StreamField content is stored as a JSON string whose key order depends on how the
    page was loaded (PostgreSQL's jsonb reorders keys); compare what it says, not its spelling."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def editors_since_release(page):
    """Ids of the users who changed the page's content since it was last released.

    A page that was never released counts every revision. Revisions that change
    nothing but Wagtail's bookkeeping or review comments (a reviewer commenting,
    or approving from the editor) make nobody an author.
    """
    revisions = Revision.page_revisions.filter(object_id=str(page.pk)).order_by("created_at", "pk")
    previous = None
    if page.last_published_at is not None:
        previous = revisions.filter(created_at__lte=page.last_published_at).last()
        revisions = revisions.filter(created_at__gt=page.last_published_at)
    editors = set()
    previous_substance = substance(previous.content) if previous else None
    for revision in revisions:
        current = substance(revision.content)
        if revision.user_id is not None and current != previous_substance:
            editors.add(revision.user_id)
        previous_substance = current
    return editors


class FourEyesApprovalTask(AbstractGroupApprovalTask):
    """Group approval that refuses the author of the revision and everyone who edited since the last release."""

    def user_may_approve(self, obj, user):
        return user.pk not in editors_since_release(obj)

    def get_actions(self, obj, user):
        actions = super().get_actions(obj, user)
        if actions and not self.user_may_approve(obj, user):
            return [action for action in actions if action[0] != "approve"]
        return actions

    def on_action(self, task_state, user, action_name, **kwargs):
        # get_actions already hides the approval; this guards every other way in.
        if action_name == "approve" and not self.user_may_approve(task_state.revision.content_object, user):
            raise PermissionDenied(refusal_message())
        return super().on_action(task_state, user, action_name, **kwargs)

    def get_task_states_user_can_moderate(self, user, **kwargs):
        # Keep a reviewer's dashboard to what they may actually release.
        return super().get_task_states_user_can_moderate(user, **kwargs).exclude(revision__user=user)

    @classmethod
    def get_description(cls):
        return _(
            "Mitglieder der gewählten Gruppen geben frei – aber nie, was sie selbst geschrieben "
            "oder seit der letzten Freigabe bearbeitet haben (Vier-Augen-Prinzip)."
        )

    class Meta:
        verbose_name = _("Vier-Augen-Freigabe")
        verbose_name_plural = _("Vier-Augen-Freigaben")
        permissions = [
            ("bypass_workflow", _("Darf ohne Vier-Augen-Freigabe veröffentlichen (mit Begründung)"))
        ]


def refusal_message():
    return _(
        "Vier-Augen-Prinzip: Sie haben diese Seite seit der letzten Freigabe selbst bearbeitet "
        "und können sie deshalb nicht freigeben. Eine andere Person aus der Freigabegruppe muss das tun."
    )
