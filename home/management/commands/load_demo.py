"""Build the Musterstadt demo site: sections, articles, legal pages, groups, users and channel accounts.

Idempotent: whatever exists is left as it is, so a second run changes nothing; only the
default Site's address follows WAGTAILADMIN_BASE_URL.
"""

import colorsys
import io
import random
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.files import File
from django.core.files.images import ImageFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageDraw
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import Collection, Page, Site

from editorial.bypass import publishing_without_workflow
from editorial.sections import grant_editing, require_release
from home import demo_content as content
from home.models import ArticleGalleryImage, ArticlePage, HomePage, PortalSettings, SectionPage, StandardPage
from home.site_address import point_site_at
from sandbox import bluesky as bluesky_sandbox
from sandbox import facebook as facebook_sandbox
from sandbox import flickr as flickr_sandbox
from sandbox import mastodon as mastodon_sandbox
from sandbox import x_api as x_sandbox
from sandbox import youtube as youtube_sandbox
from syndication.models import ChannelAccount, ModerationRoute

ImageModel = get_image_model()
DocumentModel = get_document_model()
DEMO_MEDIA = Path(__file__).resolve().parents[2] / "demo_media"

# The demo's own pages are published by this command, not released by a person;
# the record says so.
DEMO_REASON = "Demo-Daten, angelegt mit manage.py load_demo"

# The stand-ins' fixed credentials for the city's account: they hold across restarts of `make run`.
SANDBOX_CREDENTIALS = {
    "mastodon": {"access_token": mastodon_sandbox.DEFAULT_TOKEN},
    "x": {"access_token": x_sandbox.DEFAULT_TOKEN},
    "facebook": {"access_token": facebook_sandbox.DEFAULT_TOKEN, "page_id": facebook_sandbox.DEFAULT_PAGE_ID},
    "youtube": youtube_sandbox.DEFAULT_CREDENTIALS,
    "bluesky": bluesky_sandbox.DEFAULT_CREDENTIALS,
    "flickr": flickr_sandbox.DEFAULT_CREDENTIALS,
}


class Command(BaseCommand):
    help = "Lädt die Demo-Website „Musterstadt“ (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="Zugangsdaten nicht ausgeben.")

    def handle(self, *args, **options):
        steps = [
            ("Startseite", self.ensure_home),
            ("Themenbereiche und Sammlungen", self.ensure_sections),
            ("Artikel mit Bildern", self.ensure_articles),
            ("Impressum, Datenschutz, Barrierefreiheit", self.ensure_standard_pages),
            ("Gruppen, Rechte, Freigabe-Workflows und Demo-Zugänge", self.ensure_people),
            ("Kanal-Konten der Stadt (Mastodon, X) und ihre Moderation", self.ensure_channel_accounts),
            ("Ein Artikel wartet auf Freigabe", self.ensure_article_in_review),
        ]
        self.created = 0
        self.site_moved = False
        for number, (label, step) in enumerate(steps, start=1):
            self.stdout.write(f"[{number}/{len(steps)}] {label} …")
            with transaction.atomic(), publishing_without_workflow(DEMO_REASON):
                step()
        if self.created:
            self.stdout.write(
                self.style.SUCCESS(f"Musterstadt ist bereit ({self.created} Objekte angelegt).")
            )
        elif self.site_moved:
            self.stdout.write(
                self.style.SUCCESS("Musterstadt war schon vollständig; nur die Adresse geändert.")
            )
        else:
            self.stdout.write(self.style.SUCCESS("Musterstadt war schon vollständig; nichts geändert."))
        if not options["quiet_logins"]:
            self.print_logins()

    # Steps

    def ensure_home(self):
        site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
        if site and isinstance(site.root_page.specific, HomePage):
            self.home = site.root_page.specific
            self.ensure_site_address(site)
            return
        root = Page.get_first_root_node()
        self.home = HomePage.objects.first()
        if self.home is None:
            self.home = root.add_child(
                instance=HomePage(
                    title="Willkommen in Musterstadt",
                    slug="musterstadt",
                    intro="Das Portal der Stadt Musterstadt: Nachrichten, Dienstleistungen und Ansprechpersonen.",
                )
            )
            self.home.save_revision().publish()
            self.created += 1
        if site is None:
            site = Site(is_default_site=True)
        old_root = site.root_page if site.pk else None
        site.root_page = self.home
        site.site_name = "Musterstadt"
        self.ensure_site_address(site)
        site.save()
        # Wagtail's installation leaves a bare "Welcome" page; it has no place in the portal.
        if old_root is not None and old_root.specific_class is Page:
            old_root.delete()

    def ensure_site_address(self, site):
        """The Site at the address the portal is served on, so that every copy's link leads there."""
        if point_site_at(site, settings.WAGTAILADMIN_BASE_URL):
            self.site_moved = True
            self.stdout.write(f"  Adresse der Website: {site.root_url}")

    def ensure_sections(self):
        self.sections = {}
        self.collections = {}
        root_collection = Collection.get_first_root_node()
        for data in content.SECTIONS:
            collection = Collection.objects.filter(name=data["title"]).first()
            if collection is None:
                collection = root_collection.add_child(name=data["title"])
                self.created += 1
            self.collections[data["slug"]] = collection

            section = SectionPage.objects.child_of(self.home).filter(slug=data["slug"]).first()
            if section is None:
                section = self.home.add_child(
                    instance=SectionPage(
                        title=data["title"],
                        slug=data["slug"],
                        intro=data["intro"],
                        responsible_name=data["responsible_name"],
                        responsible_role=data["responsible_role"],
                        show_in_menus=True,
                    )
                )
                section.save_revision().publish()
                self.created += 1
            self.sections[data["slug"]] = section

    def ensure_articles(self):
        colours = {data["slug"]: data["colour"] for data in content.SECTIONS}
        today = timezone.localdate()
        total = len(content.ARTICLES)
        for number, (section_slug, kind, title, teaser, tags) in enumerate(content.ARTICLES, start=1):
            section = self.sections[section_slug]
            slug = self.slug_for(number)
            if ArticlePage.objects.child_of(section).filter(slug=slug).exists():
                self.stdout.write(f"  Artikel {number}/{total}: vorhanden – {title}")
                continue
            image = self.ensure_image(number, title, colours[section_slug], self.collections[section_slug])
            article = ArticlePage(
                title=title,
                slug=slug,
                kind=kind,
                date=today - timedelta(days=2 * (total - number)),
                teaser=teaser,
                main_image=image,
                main_image_alt=image.description,
                body=self.body_for(number, title),
            )
            section.add_child(instance=article)
            article.tags.set(tags)
            article.save_revision().publish()
            self.created += 1
            self.stdout.write(f"  Artikel {number}/{total}: angelegt – {title}")

    def ensure_standard_pages(self):
        portal_settings = PortalSettings.for_site(Site.objects.get(is_default_site=True))
        changed = False
        for data in content.STANDARD_PAGES:
            page = StandardPage.objects.child_of(self.home).filter(slug=data["slug"]).first()
            if page is None:
                page = self.home.add_child(
                    instance=StandardPage(title=data["title"], slug=data["slug"], body=data["body"])
                )
                page.save_revision().publish()
                self.created += 1
            if getattr(portal_settings, f"{data['setting']}_id") is None:
                setattr(portal_settings, data["setting"], page)
                changed = True
        if changed or portal_settings.pk is None:
            portal_settings.save()

    def ensure_people(self):
        access_admin = Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
        self.logins = []
        self.editor_groups = []
        groups = {}
        for group_name, username, first_name, last_name in content.ROLE_GROUPS:
            groups[group_name] = self.ensure_group(group_name, [access_admin])
            self.ensure_user(
                username, first_name, last_name, groups[group_name], superuser=group_name == "Administration"
            )

        # Pages outside the sections (home, legal pages) are released by the Freigabe group.
        require_release(self.home, [groups["Freigabe"]], "Freigabe Portal")
        for data in content.SECTIONS:
            group = self.ensure_group(f"Redaktion {data['title']}", [access_admin])
            self.editor_groups.append(group)
            section = self.sections[data["slug"]]
            grant_editing(group, section, self.collections[data["slug"]])
            reviewers = [groups[name] for name in data["reviewers"]]
            require_release(section, reviewers, f"Freigabe {data['title']}")
            self.ensure_user(f"redaktion-{data['slug']}", "Redaktion", data["title"], group)

    def ensure_channel_accounts(self):
        """The city's accounts on the local stand-ins, open to every section and every editors' group.

        The published demo articles get no excerpts: they went live before the city had
        accounts, and an excerpt added now would either stay out of their released
        revision or need a publication that fans out while the stand-ins may be down.
        """
        self.accounts = []
        for network, name, base_url in content.CHANNEL_ACCOUNTS:
            account = ChannelAccount.objects.filter(network=network, name=name).first()
            if account is None:
                account = ChannelAccount(network=network, name=name, base_url=base_url)
                account.set_credentials(SANDBOX_CREDENTIALS[network])
                account.save()
                account.sections.set(self.sections.values())
                account.groups.set(self.editor_groups)
                self.created += 1
                self.stdout.write(f"  {account}: angelegt – {base_url}")
            self.accounts.append(account)
        # The newsletter's "network" is the portal's own subscriber list: no address, no token.
        newsletter = ChannelAccount.objects.filter(
            network="newsletter", name="Newsletter Musterstadt"
        ).first()
        if newsletter is None:
            newsletter = ChannelAccount.objects.create(network="newsletter", name="Newsletter Musterstadt")
            newsletter.sections.set(self.sections.values())
            newsletter.groups.set(self.editor_groups)
            self.created += 1
            self.stdout.write(f"  {newsletter}: angelegt")
        self.accounts.append(newsletter)
        # Web Push reaches the browsers subscribed on the portal: no address, no token.
        push = ChannelAccount.objects.filter(network="webpush", name="Push-Benachrichtigungen").first()
        if push is None:
            push = ChannelAccount.objects.create(network="webpush", name="Push-Benachrichtigungen")
            push.sections.set(self.sections.values())
            push.groups.set(self.editor_groups)
            self.created += 1
            self.stdout.write(f"  {push}: angelegt")
        self.accounts.append(push)
        for data in content.MAIL_LISTS:
            self.accounts.append(self.ensure_mail_list(data))
        # Citizens' replies to any section and account go to the demo's moderators.
        moderators = Group.objects.get(name="Moderation")
        if not ModerationRoute.objects.filter(group=moderators).exists():
            ModerationRoute.objects.create(group=moderators)
            self.created += 1

    def ensure_article_in_review(self):
        """Show the four-eyes cycle: Kultur's editor wrote this and submitted it; Freigabe must release it.

        Its excerpts are part of the submitted revision, so the release sends them to every account.
        """
        section = self.sections["kultur"]
        if ArticlePage.objects.child_of(section).filter(slug=content.ARTICLE_IN_REVIEW["slug"]).exists():
            return
        author = get_user_model().objects.get(username="redaktion-kultur")
        data = content.ARTICLE_IN_REVIEW
        article = ArticlePage(
            title=data["title"],
            slug=data["slug"],
            teaser=data["teaser"],
            main_image=self.ensure_image(
                len(content.ARTICLES) + 1, data["title"], (123, 31, 93), self.collections["kultur"]
            ),
            main_image_alt="Stilisierte Stadtansicht von Musterstadt im Winter",
            body=self.body_for(1, data["title"]),
            live=False,
            video=self.ensure_document(content.DEMO_VIDEO["file"], content.DEMO_VIDEO["title"]),
            video_captions=self.ensure_document(
                content.DEMO_VIDEO["captions"], content.DEMO_VIDEO["captions_title"]
            ),
            video_transcript=content.DEMO_VIDEO["transcript"],
        )
        # A gallery, so the release also reaches the networks that take photos (Flickr, Bluesky).
        for offset, caption in enumerate(content.GALLERY_CAPTIONS, start=2):
            image = self.ensure_image(
                len(content.ARTICLES) + offset, data["title"], (123, 31, 93), self.collections["kultur"]
            )
            article.gallery_images.add(
                ArticleGalleryImage(image=image, alt=image.description, caption=caption)
            )
        section.add_child(instance=article)
        article.tags.set(data["tags"])
        url = article.get_full_url()
        for account in self.accounts:
            # A push notification brings the title and the link itself; its text is the teaser.
            text = (
                data["teaser"] if account.network == "webpush" else f"{data['title']}: {data['teaser']} {url}"
            )
            if account.network == "press":
                text = content.PRESS_COVER_NOTE
            article.excerpts.create(account=account, text=text)
        revision = article.save_revision(user=author, log_action=True)
        section.get_workflow().start(article, author)
        self.created += 1
        self.stdout.write(f"  „{data['title']}“ von redaktion-kultur eingereicht (Revision {revision.pk})")

    # Helpers

    def ensure_mail_list(self, data):
        account = ChannelAccount.objects.filter(network=data["network"], name=data["name"]).first()
        if account is not None:
            return account
        account = ChannelAccount.objects.create(
            network=data["network"],
            name=data["name"],
            base_url=content.MAIL_LIST_ADDRESS,
            recipients="\n".join(data["recipients"]),
        )
        section = self.sections.get(data["section"])
        account.sections.set([section] if section else self.sections.values())
        account.groups.set(self.editor_groups)
        self.created += 1
        self.stdout.write(f"  {account}: angelegt – {len(data['recipients'])} Empfänger")
        return account

    def ensure_group(self, name, permissions):
        group, created = Group.objects.get_or_create(name=name)
        if created:
            group.permissions.add(*permissions)
            self.created += 1
        return group

    def ensure_user(self, username, first_name, last_name, group, superuser=False):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(
                username=username,
                email=f"{username}@musterstadt.example",
                password=content.DEMO_PASSWORD,
                first_name=first_name,
                last_name=last_name,
                is_staff=superuser,
                is_superuser=superuser,
            )
            user.groups.add(group)
            self.created += 1
        self.logins.append((username, group.name))

    def ensure_document(self, filename, title):
        """A file of home/demo_media/ as a Wagtail document (the demo's video and its captions)."""
        document = DocumentModel.objects.filter(title=title).first()
        if document is None:
            document = DocumentModel(title=title, collection=self.collections["kultur"])
            with (DEMO_MEDIA / filename).open("rb") as source:
                document.file.save(filename, File(source), save=False)
            document.save()
        return document

    def ensure_image(self, number, title, colour, collection):
        image_title = f"Demo-Bild {number:02d}: {title}"
        image = ImageModel.objects.filter(title=image_title).first()
        if image is None:
            data = render_demo_image(number, colour)
            image = ImageModel(
                title=image_title,
                collection=collection,
                description=f"Stilisierte Stadtansicht von Musterstadt in den Farben des Themenbereichs (Bild {number}).",
                file=ImageFile(io.BytesIO(data), name=f"musterstadt-{number:02d}.jpg"),
            )
            image.save()
        return image

    @staticmethod
    def slug_for(number):
        return f"meldung-{number:02d}"

    @staticmethod
    def body_for(number, title):
        paragraphs = content.PARAGRAPHS[number % 3 :] + content.PARAGRAPHS[: number % 3]
        return [
            ("paragraph", f"<p>{paragraphs[0]}</p>"),
            ("heading", {"text": "Das Wichtigste in Kürze", "level": "h2"}),
            ("paragraph", f"<ul><li>{title}</li><li>{paragraphs[1]}</li></ul>"),
            ("quote", {"text": paragraphs[2], "attribution": "Stadt Musterstadt"}),
        ]

    def print_logins(self):
        self.stdout.write("")
        self.stdout.write(
            f"Demo-Zugänge (Passwort jeweils „{content.DEMO_PASSWORD}“), Admin: "
            f"{settings.WAGTAILADMIN_BASE_URL.rstrip('/')}/admin/"
        )
        for username, group_name in self.logins:
            self.stdout.write(f"  {username:<26} {group_name}")


def render_demo_image(number, colour, size=(1200, 675)):
    """A stylised skyline in the section's colour, drawn locally and the same every time."""
    rng = random.Random(number)  # noqa: S311 -- decoration, not security
    width, height = size
    image = PILImage.new("RGB", size)
    draw = ImageDraw.Draw(image)
    hue, lightness, saturation = colorsys.rgb_to_hls(*(channel / 255 for channel in colour))
    for y in range(height):
        shade = colorsys.hls_to_rgb(hue, min(0.92, lightness + 0.55 * (1 - y / height)), saturation)
        draw.line([(0, y), (width, y)], fill=tuple(int(channel * 255) for channel in shade))
    sun_x = rng.randint(150, width - 150)
    draw.ellipse([sun_x - 60, 80, sun_x + 60, 200], fill=(255, 214, 102))
    x = 0
    while x < width:
        building_width = rng.randint(60, 160)
        building_height = rng.randint(150, 420)
        draw.rectangle([x, height - building_height, x + building_width, height], fill=colour)
        for window_y in range(height - building_height + 20, height - 20, 40):
            for window_x in range(x + 12, x + building_width - 20, 30):
                if rng.random() < 0.6:
                    draw.rectangle([window_x, window_y, window_x + 12, window_y + 18], fill=(255, 236, 179))
        x += building_width + rng.randint(4, 16)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return buffer.getvalue()
