from __future__ import annotations

from django import forms
from phonenumber_field.formfields import PhoneNumberField

from .models import ConsentText, Interest, Member, Preferences
from .selectors import organisations_active
from .services import PREFERENCE_FIELDS, consent_text_current, member_signup_complete
from .validators import validate_postcode

PHONE_HELP = "Optional. A UK mobile number, for text message alerts, like 07700 900123."


class PostcodeFieldMixin:
    def clean_postcode(self) -> str:
        return validate_postcode(self.cleaned_data.get("postcode", ""))


class SignupForm(PostcodeFieldMixin, forms.Form):
    """The resident's sign-up details, added to allauth's email and password fields."""

    first_name = forms.CharField(
        max_length=100, label="First name", widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        max_length=100, label="Last name", widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    address_line1 = forms.CharField(
        max_length=200, label="Address line 1", widget=forms.TextInput(attrs={"autocomplete": "address-line1"})
    )
    address_line2 = forms.CharField(
        max_length=200,
        required=False,
        label="Address line 2 (optional)",
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    town = forms.CharField(
        max_length=100, label="Town or city", widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    postcode = forms.CharField(
        max_length=16,
        label="Postcode",
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "class": "input-short"}),
    )
    phone = PhoneNumberField(
        region="GB",
        required=False,
        label="Mobile phone (optional)",
        help_text=PHONE_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    organisations = forms.ModelMultipleChoiceField(
        queryset=organisations_active(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Who may see your details and send you messages?",
        help_text="Choose each organisation you want to hear from. You can change this at any time.",
    )
    accept_terms = forms.BooleanField(
        required=True, label="I agree", error_messages={"required": "You must agree to the privacy notice to sign up."}
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.service_consent = consent_text_current(purpose=ConsentText.Purpose.SERVICE)
        self.fields["accept_terms"].help_text = self.service_consent.text
        self.fields["accept_terms"].label = f"I agree to the privacy notice (version {self.service_consent.version})"

    def signup(self, request, user: Member) -> None:
        """Called by allauth once the account exists (same transaction as the form post)."""
        member_signup_complete(
            member=user,
            profile={
                f: self.cleaned_data.get(f)
                for f in ("first_name", "last_name", "address_line1", "address_line2", "town", "postcode", "phone")
            },
            organisations=self.cleaned_data.get("organisations") or [],
            service_consent=self.service_consent,
        )


class ProfileForm(PostcodeFieldMixin, forms.ModelForm):
    phone = PhoneNumberField(
        region="GB",
        required=False,
        label="Mobile phone (optional)",
        help_text=PHONE_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )

    class Meta:
        model = Member
        fields = ["first_name", "last_name", "phone", "address_line1", "address_line2", "town", "postcode"]
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
            "address_line1": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "address_line2": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "town": forms.TextInput(attrs={"autocomplete": "address-level2"}),
            "postcode": forms.TextInput(attrs={"autocomplete": "postal-code", "class": "input-short"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("address_line1", "town", "postcode"):
            self.fields[name].required = True


class PreferencesForm(forms.ModelForm):
    interests = forms.MultipleChoiceField(
        choices=Interest.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="What do you want to hear about?",
    )

    class Meta:
        model = Preferences
        fields = list(PREFERENCE_FIELDS)
        widgets = {
            "frequency": forms.RadioSelect,
            "quiet_hours_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_hours_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "sms_lowest_priority": forms.Select(
                choices=[
                    (1, "1 – only the most urgent"),
                    (2, "2 – urgent"),
                    (3, "3 – important"),
                    (4, "4 – routine"),
                    (5, "5 – everything"),
                ]
            ),
        }
        labels = {
            "quiet_hours_start": "Quiet hours start",
            "quiet_hours_end": "Quiet hours end",
        }
        help_texts = {
            "quiet_hours_start": (
                "Optional. We hold messages until quiet hours end, except the most urgent alerts (priority 1 and 2)."
            ),
        }

    def __init__(self, *args, member: Member, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.member = member
        if not self.is_bound:
            self.initial["interests"] = list(member.interests.values_list("interest", flat=True))

    def clean(self):
        data = super().clean()
        start, end = data.get("quiet_hours_start"), data.get("quiet_hours_end")
        if (start is None) != (end is None):
            self.add_error(
                "quiet_hours_end" if start else "quiet_hours_start",
                "Give both a start and an end for quiet hours, or neither.",
            )
        if data.get("channel_sms") and not self.member.phone:
            self.add_error("channel_sms", "Add a mobile phone number to your profile to get text messages.")
        return data

    def preference_data(self) -> dict:
        return {f: self.cleaned_data[f] for f in self.Meta.fields}


class OfficerCreateForm(forms.Form):
    email = forms.EmailField(label="Work email address")
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    role = forms.ChoiceField(
        choices=[(Member.Role.OFFICER, "Officer"), (Member.Role.FORCE_ADMIN, "Force admin")],
        widget=forms.RadioSelect,
        initial=Member.Role.OFFICER,
    )


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label="Your password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    confirm = forms.BooleanField(
        label="I understand my account and personal details will be deleted and cannot be recovered."
    )

    def __init__(self, *args, member: Member, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.member = member

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.member.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password


__all__ = [
    "AccountDeleteForm",
    "OfficerCreateForm",
    "PreferencesForm",
    "ProfileForm",
    "SignupForm",
]
