"""The page form: administrators who publish without a workflow must say why."""

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminPageForm

from . import bypass


class EditorialPageForm(WagtailAdminPageForm):
    bypass_reason = forms.CharField(
        label=_("Begründung für eine Veröffentlichung ohne Freigabe"),
        help_text=_(
            "Nur für Administratorinnen und Administratoren: Wer direkt veröffentlicht, umgeht die "
            "Vier-Augen-Freigabe. Die Begründung wird im Protokoll vermerkt."
        ),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Fields with callable defaults (an article's date) would otherwise compare
        # against a re-rendered hidden initial and report a change nobody made;
        # such phantom changes create revisions in the reviewer's name.
        for field in self.fields.values():
            field.show_hidden_initial = False

    def clean(self):
        cleaned_data = super().clean()
        if "bypass_reason" in self.fields and "action-publish" in self.data:
            reason = " ".join(cleaned_data.get("bypass_reason", "").split())
            if not reason:
                self.add_error(
                    "bypass_reason",
                    _(
                        "Bitte begründen Sie, warum Sie ohne Freigabe veröffentlichen, oder reichen Sie die Seite zur Freigabe ein."
                    ),
                )
            else:
                bypass.set_reason(reason)
        return cleaned_data
