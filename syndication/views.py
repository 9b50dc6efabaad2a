"""The page editor's excerpt counter: length, limit and overflow of a text, by the channel module's own rule."""

from django import forms
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from . import excerpts
from .channels.base import ChannelError
from .forms import forbidden, unmeasurable
from .models import ChannelAccount


class ExcerptLengthForm(forms.Form):
    account = forms.ModelChoiceField(queryset=ChannelAccount.objects.all())
    # Stripped like the page form's text field, so the counter measures what will be saved.
    text = forms.CharField(required=False)


@require_POST
def excerpt_length(request):
    form = ExcerptLengthForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"message": _("Unvollständige Anfrage.")}, status=400)
    account = form.cleaned_data["account"]
    if not account.usable_by(request.user):
        return JsonResponse({"message": forbidden(account)}, status=403)
    try:
        measurement = excerpts.measure(account, form.cleaned_data["text"])
    except ChannelError as error:
        return JsonResponse({"message": unmeasurable(account, error)}, status=503)
    if measurement.overflow:
        message = _("Zu lang für %(account)s: %(over)s Zeichen zu viel.") % {
            "account": account,
            "over": measurement.overflow,
        }
    else:
        message = _("Passt für %(account)s: noch %(left)s Zeichen frei.") % {
            "account": account,
            "left": measurement.limit - measurement.length,
        }
    return JsonResponse(
        {
            "count": measurement.length,
            "limit": measurement.limit,
            "overflow": measurement.overflow,
            "counting_rule": measurement.limits.counting_rule,
            "message": message,
        }
    )
