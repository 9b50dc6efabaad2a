"""Give a topic area its people: who edits it, and who must release what they write."""

from django.contrib.auth.models import Permission
from wagtail.models import (
    GroupCollectionPermission,
    GroupPagePermission,
    Workflow,
    WorkflowPage,
    WorkflowTask,
)

from .models import FourEyesApprovalTask

EDITOR_PAGE_PERMISSIONS = ["add_page", "change_page"]
EDITOR_MEDIA_PERMISSIONS = {
    "wagtailimages": ["add_image", "change_image", "choose_image"],
    "wagtaildocs": ["add_document", "change_document", "choose_document"],
}


def grant_editing(group, page, collection=None):
    """Editors add and change pages below `page` and media in `collection`; they never publish."""
    for codename in EDITOR_PAGE_PERMISSIONS:
        GroupPagePermission.objects.get_or_create(
            group=group,
            page=page,
            permission=Permission.objects.get(content_type__app_label="wagtailcore", codename=codename),
        )
    if collection is None:
        return
    for app_label, codenames in EDITOR_MEDIA_PERMISSIONS.items():
        for permission in Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        ):
            GroupCollectionPermission.objects.get_or_create(
                group=group, collection=collection, permission=permission
            )


def require_release(page, reviewers, name):
    """Pages below `page` go live only when a member of `reviewers` other than their authors approves."""
    task, _created = FourEyesApprovalTask.objects.get_or_create(name=name)
    task.groups.add(*reviewers)
    workflow, _created = Workflow.objects.get_or_create(name=name)
    WorkflowTask.objects.get_or_create(workflow=workflow, task=task, defaults={"sort_order": 0})
    WorkflowPage.objects.get_or_create(page=page, defaults={"workflow": workflow})
    return workflow
