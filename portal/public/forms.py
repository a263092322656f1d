"""The contact form (portal.md, "Contact")."""

from __future__ import annotations

from django import forms

from orchestration.core.seeds import insurers
from portal.public.models import ContactMessage


def insurer_choices() -> list[tuple[str, str]]:
    """The insurers of the required-insurers seed, by name."""
    return [("", "— kies een zorgverzekeraar —")] + sorted(
        ((i.insurer_id, i.insurer_name) for i in insurers()), key=lambda pair: pair[1].lower()
    )


class ContactForm(forms.Form):
    topic = forms.ChoiceField(label="Waar gaat uw vraag over?", choices=ContactMessage.TOPICS, widget=forms.RadioSelect)
    insurer = forms.ChoiceField(
        label="Zorgverzekeraar (alleen bij beleid en inhoud)",
        required=False,
        help_text="Over welke zorgverzekeraar gaat uw vraag over beleid en inhoud?",
    )
    name = forms.CharField(label="Uw naam", max_length=200)
    email = forms.EmailField(label="Uw e-mailadres", max_length=254, help_text="Wij antwoorden op dit adres.")
    practice_agb = forms.RegexField(
        label="AGB-code van uw praktijk (niet verplicht)",
        regex=r"^[0-9]{8}$",
        required=False,
        max_length=8,
        error_messages={"invalid": "Een AGB-code bestaat uit 8 cijfers."},
    )
    subject = forms.CharField(label="Onderwerp in een paar woorden", max_length=200)
    message = forms.CharField(label="Uw bericht", max_length=5000, widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args, practices: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["insurer"].choices = insurer_choices()
        self.practices = practices or []
        if len(self.practices) > 1:
            # a logged-in sender with several practices picks one of their own
            self.fields["practice_agb"] = forms.ChoiceField(
                label="Over welke praktijk gaat het?",
                required=False,
                choices=[("", "— geen bepaalde praktijk —")] + [(agb, agb) for agb in self.practices],
            )
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}_helptext")

    def clean_subject(self):
        # it becomes a mail header: one line
        return " ".join(self.cleaned_data["subject"].split())

    def clean(self):
        data = super().clean()
        topic, insurer = data.get("topic"), data.get("insurer")
        if topic == ContactMessage.TOPIC_POLICY and not insurer:
            self.add_error("insurer", "Kies de zorgverzekeraar waar uw vraag over beleid en inhoud over gaat.")
        if topic != ContactMessage.TOPIC_POLICY:
            data["insurer"] = ""
        return data
