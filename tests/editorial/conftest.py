"""A small newsroom: two sections, their editors and reviewers, wired as the demo wires them."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group, Permission
from wagtail.models import Collection

from editorial.sections import grant_editing, require_release
from tests import factories


@pytest.fixture
def newsroom(db):
    access_admin = Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    home = factories.home_page()
    culture = factories.section_page(home, title="Kultur", slug="kultur")
    press = factories.section_page(home, title="Presse", slug="presse")
    root_collection = Collection.get_first_root_node()
    groups = {}
    for name in ("Redaktion Kultur", "Redaktion Presse", "Freigabe", "Chefredaktion", "Moderation"):
        groups[name] = Group.objects.create(name=name)
        groups[name].permissions.add(access_admin)
    grant_editing(groups["Redaktion Kultur"], culture, root_collection.add_child(name="Kultur"))
    grant_editing(groups["Redaktion Presse"], press, root_collection.add_child(name="Presse"))
    require_release(culture, [groups["Freigabe"]], "Freigabe Kultur")
    require_release(press, [groups["Chefredaktion"]], "Freigabe Presse")

    users = SimpleNamespace(
        redaktion_kultur=factories.user("redaktion-kultur", [groups["Redaktion Kultur"]]),
        redaktion_presse=factories.user("redaktion-presse", [groups["Redaktion Presse"]]),
        freigabe=factories.user("freigabe", [groups["Freigabe"]]),
        freigabe_2=factories.user("freigabe-2", [groups["Freigabe"]]),
        chefredaktion=factories.user("chefredaktion", [groups["Chefredaktion"]]),
        moderation=factories.user("moderation", [groups["Moderation"]]),
        admin=factories.user("admin", is_superuser=True, is_staff=True),
    )
    return SimpleNamespace(
        home=home,
        sections={"kultur": culture, "presse": press},
        groups=groups,
        users=users,
        article={
            "kultur": factories.article_page(culture, title="Museumsnacht", slug="museumsnacht"),
            "presse": factories.article_page(
                press, title="Haushalt beschlossen", slug="haushalt", kind="press"
            ),
        },
    )
