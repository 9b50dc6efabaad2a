"""Site search over the live, public pages of the portal."""

import re
import unicodedata
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from wagtail.models import Page

RESULTS_PER_PAGE = 10
MAX_QUERY_LENGTH = 200


def clean_query(raw):
    """NFC-normalise, drop control and unassigned characters, collapse spaces, cap length.

    PostgreSQL refuses NUL bytes and lone surrogates outright; they carry no
    meaning for a search, so they are removed rather than answered with an error.
    """
    text = unicodedata.normalize("NFC", raw)
    text = "".join(ch if not unicodedata.category(ch).startswith("C") else " " for ch in text)
    return " ".join(text.split())[:MAX_QUERY_LENGTH]


def search_terms(query):
    """The words of the query only: the SQLite full-text backend passes operators through unquoted."""
    return " ".join(re.findall(r"\w+", query))


def search(request):
    query = clean_query(request.GET.get("q", ""))
    terms = search_terms(query)
    results = Page.objects.live().public().specific().search(terms) if terms else Page.objects.none()
    page = Paginator(results, RESULTS_PER_PAGE).get_page(request.GET.get("seite"))
    return TemplateResponse(
        request,
        "search/search.html",
        {"search_query": query, "search_results": page, "query_string": urlencode({"q": query})},
    )
