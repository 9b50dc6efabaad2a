"""One module per network, all with the interface of base.Channel; NETWORKS maps names to them.

Adding a network = adding its module here and its stand-in under sandbox/.
"""

from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

NETWORKS = {
    "mastodon": (_("Mastodon"), "syndication.channels.mastodon.MastodonChannel"),
    "x": (_("X (Twitter)"), "syndication.channels.x.XChannel"),
    "facebook": (_("Facebook"), "syndication.channels.facebook.FacebookChannel"),
    "flickr": (_("Flickr"), "syndication.channels.flickr.FlickrChannel"),
    "press": (_("Presseverteiler"), "syndication.channels.maillist.PressListChannel"),
    "maillist": (_("E-Mail-Verteiler"), "syndication.channels.maillist.MailListChannel"),
    "newsletter": (_("Newsletter"), "syndication.channels.newsletter.NewsletterChannel"),
    "webpush": (_("Web-Push"), "syndication.channels.webpush.WebPushChannel"),
    "bluesky": (_("Bluesky"), "syndication.channels.bluesky.BlueskyChannel"),
    "youtube": (_("YouTube"), "syndication.channels.youtube.YouTubeChannel"),
}


def channel_class(network):
    return import_string(NETWORKS[network][1])
