"""The review pages' forms.  Each action form carries what the page showed (the
assignee, the status) so the change is a compare-and-set: a second person's
change in between is reported, never silently overwritten."""

from __future__ import annotations

from django import forms

from intake.models import Referral
from intake.web.display import status_label

STATUS_CHOICES = [(value, status_label(value)) for value in Referral.Status.values]

NOTE_MAX_CHARS = 5000


class AssignForm(forms.Form):
    action = forms.ChoiceField(choices=[("assign_me", "Assign to me"), ("unassign", "Unassign")])
    expected_assignee = forms.IntegerField(required=False, widget=forms.HiddenInput)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label="New status", choices=STATUS_CHOICES)
    current = forms.ChoiceField(choices=STATUS_CHOICES, widget=forms.HiddenInput)


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Decision note",
        max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Kept with the case and shown to the team. Not sent to anyone.",
    )


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What you decided about this message, for the team.",
    )
