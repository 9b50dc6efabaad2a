from wagtail.permission_policies import ModelPermissionPolicy

from .models import AuditSeal

# Whoever may view the seals may read the whole record, whatever else they may edit.
permission_policy = ModelPermissionPolicy(AuditSeal)
