from django.contrib import messages
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.log_actions import LogFormatter

from .models import FourEyesApprovalTask, refusal_message


@hooks.register("register_log_actions")
def register_editorial_log_actions(actions):
    @actions.register_action("stadtfunk.editorial.bypass")
    class PublishedWithoutRelease(LogFormatter):
        label = _("Ohne Freigabe veröffentlicht")

        def format_message(self, log_entry):
            reason = (log_entry.data or {}).get("reason")
            if reason:
                return _("Ohne Vier-Augen-Freigabe veröffentlicht. Begründung: %(reason)s") % {
                    "reason": reason
                }
            return _("Ohne Vier-Augen-Freigabe veröffentlicht, ohne Begründung.")


@hooks.register("before_edit_page")
def explain_why_approval_is_not_offered(request, page):
    """The approve action is hidden from authors; say why, so nobody wonders where it went."""
    if request.method != "GET":
        return
    task = page.current_workflow_task
    if task is None or not isinstance(task.specific, FourEyesApprovalTask):
        return
    actions = {name for name, _label, _modal in task.specific.get_actions(page, request.user)}
    if actions and "approve" not in actions:
        messages.warning(request, refusal_message())
