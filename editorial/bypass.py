"""Publications that did not pass a workflow: who may do that, and the reason they gave."""

from contextlib import contextmanager
from contextvars import ContextVar

from wagtail.models import WorkflowState

BYPASS_PERMISSION = "editorial.bypass_workflow"

# The page form hands its reason to the publication that follows it, once.
_form_reason = ContextVar("stadtfunk_form_bypass_reason", default="")
# A script publishing many pages gives one reason for all of them.
_scoped_reason = ContextVar("stadtfunk_scoped_bypass_reason", default="")


def set_reason(reason):
    _form_reason.set(reason)


def take_reason():
    reason = _form_reason.get()
    if reason:
        _form_reason.set("")
        return reason
    return _scoped_reason.get()


@contextmanager
def publishing_without_workflow(reason):
    """For scripts and the demo: publications inside this block carry the reason in the record."""
    token = _scoped_reason.set(reason)
    try:
        yield
    finally:
        _scoped_reason.reset(token)


def released_by_workflow(revision):
    """Whether this revision is the one an approved workflow released."""
    return WorkflowState.objects.filter(
        base_content_type_id=revision.base_content_type_id,
        object_id=revision.object_id,
        status=WorkflowState.STATUS_APPROVED,
        current_task_state__revision_id=revision.pk,
    ).exists()
