"""Mail to the author when their page is approved, with the reviewer's name and comment."""

from wagtail.admin.mail import WorkflowStateApprovalEmailNotifier


class ApprovalWithCommentNotifier(WorkflowStateApprovalEmailNotifier):
    def get_context(self, workflow_state, **kwargs):
        context = super().get_context(workflow_state, **kwargs)
        task_state = workflow_state.current_task_state
        context["approver"] = kwargs.get("user")
        context["comment"] = task_state.get_comment() if task_state else ""
        return context


approval_with_comment_notifier = ApprovalWithCommentNotifier()
