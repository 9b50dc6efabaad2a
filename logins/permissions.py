from wagtail.permission_policies import ModelPermissionPolicy


class LockoutPermissionPolicy(ModelPermissionPolicy):
    """Lockouts are written by django-axes alone: people may look at them and lift one, nothing else.

    Lifting a lockout deletes its attempt row, as axes' own `axes_reset` does; it needs the
    permission "delete access attempt", looking needs "view access attempt". Superusers too
    get no more than these two.
    """

    actions = {"view", "delete"}

    def user_has_permission(self, user, action):
        return action in self.actions and super().user_has_permission(user, action)

    def users_with_any_permission(self, actions):
        return super().users_with_any_permission(set(actions) & self.actions)
