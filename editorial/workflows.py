"""What happens when a workflow ends in approval: the approved revision goes live."""


def publish_approved_revision(workflow_state, user=None):
    """Publish exactly the revision the reviewers approved.

    Reviewers hold no publish permission of their own (nobody may publish
    directly but administrators), so the approval itself is the permission.
    """
    revision = workflow_state.current_task_state.revision
    revision.publish(user=user, skip_permission_checks=True)
