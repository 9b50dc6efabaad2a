"""Signal receivers of the editorial app, connected once from EditorialConfig.ready()."""

from django.db.models.signals import post_save
from wagtail.log_actions import log
from wagtail.models import PageLogEntry, WorkflowState
from wagtail.signals import workflow_approved

from . import bypass
from .notifications import approval_with_comment_notifier

PUBLISH_ACTIONS = {"wagtail.publish", "wagtail.publish.schedule"}
BYPASS_ACTION = "stadtfunk.editorial.bypass"


def flag_publication_without_release(sender, instance, created, raw=False, **kwargs):
    """Put a bypass entry beside every publication that no approved workflow released.

    Reacting to Wagtail's own publish entry catches every way of publishing
    (editor, bulk action, API, script) and knows who did it.
    """
    if raw or not created or instance.action not in PUBLISH_ACTIONS or instance.revision_id is None:
        return
    if bypass.released_by_workflow(instance.revision):
        bypass.take_reason()
        return
    if PageLogEntry.objects.filter(action=BYPASS_ACTION, revision_id=instance.revision_id).exists():
        return
    log(
        instance=instance.page.specific,
        action=BYPASS_ACTION,
        user=instance.user,
        revision=instance.revision,
        data={"reason": bypass.take_reason(), "publish_action": instance.action},
    )


def register_signal_handlers():
    post_save.connect(
        flag_publication_without_release,
        sender=PageLogEntry,
        dispatch_uid="stadtfunk_editorial_flag_bypass",
    )
    # Wagtail's approval mail leaves out the reviewer's comment; ours carries it.
    workflow_approved.disconnect(
        sender=WorkflowState, dispatch_uid="workflow_state_approved_email_notification"
    )
    workflow_approved.connect(
        approval_with_comment_notifier,
        sender=WorkflowState,
        dispatch_uid="stadtfunk_workflow_state_approved_email_notification",
    )
