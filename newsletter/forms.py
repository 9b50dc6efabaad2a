"""The subscription form: address, sections, frequency and consent."""

from django import forms
from django.utils.translation import gettext_lazy as _

from home.models import SectionPage

from .models import Subscriber


class SubscriptionForm(forms.Form):
    email = forms.EmailField(
        label=_("E-Mail-Adresse"),
        max_length=254,
        error_messages={
            "required": _("Bitte geben Sie Ihre E-Mail-Adresse ein."),
            "invalid": _("Bitte geben Sie eine gültige E-Mail-Adresse ein, zum Beispiel name@beispiel.de."),
        },
    )
    topics = forms.ModelMultipleChoiceField(
        label=_("Themen"),
        queryset=SectionPage.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Bitte wählen Sie mindestens ein Thema."),
            "invalid_choice": _("Bitte wählen Sie nur Themen aus der Liste."),
            "invalid_pk_value": _("Bitte wählen Sie nur Themen aus der Liste."),
        },
    )
    frequency = forms.ChoiceField(
        label=_("Wie oft?"),
        choices=Subscriber.Frequency.choices,
        initial=Subscriber.Frequency.IMMEDIATE,
        widget=forms.RadioSelect,
        error_messages={"required": _("Bitte wählen Sie, wie oft Sie den Newsletter erhalten möchten.")},
    )
    consent = forms.BooleanField(
        error_messages={"required": _("Ohne Ihre Einwilligung können wir Ihnen keinen Newsletter senden.")}
    )

    def __init__(self, *args, sections, consent_text, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"].queryset = sections
        self.fields["consent"].label = consent_text
