from django import forms
from django.contrib.auth.forms import AuthenticationForm


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=64,
        help_text="Letters, digits and + = , . @ _ -",
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    email = forms.EmailField(required=False)
    account_name = forms.CharField(
        max_length=100, required=False, help_text="A name for your new account (optional)."
    )
    password1 = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Confirm password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class LoginForm(AuthenticationForm):
    pass


class MemberForm(forms.Form):
    username = forms.CharField(max_length=64)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    owner = forms.BooleanField(
        required=False, label="Account owner", help_text="Owners can add users."
    )


class KeyCreateForm(forms.Form):
    # The request member a service error names -> the form field that holds it.
    API_FIELDS = {"Description": "description"}

    description = forms.CharField(
        max_length=8192,
        required=False,
        help_text="What the key protects, for the people who read this list later (optional).",
        widget=forms.TextInput(),
    )


class AuditFilterForm(forms.Form):
    operation = forms.ChoiceField(required=False, label="Operation")
    outcome = forms.ChoiceField(required=False, label="Outcome")
    resource = forms.CharField(
        required=False, max_length=2048, label="Resource ARN contains", strip=True
    )

    def __init__(self, *args, operations, outcomes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["operation"].choices = [("", "Any operation"), *((o, o) for o in operations)]
        self.fields["outcome"].choices = [("", "Any outcome"), *outcomes]
