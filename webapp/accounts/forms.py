from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

USERNAME_MAX = 64
USERNAME_CHARACTERS = "+=,.@_-"


class SignupForm(forms.Form):
    """Sign-up checks every field at once, so one try shows every problem at its field; the
    password rules are Django's validators', listed before the first try."""

    username = forms.CharField(
        max_length=USERNAME_MAX,
        help_text="Letters, digits and + = , . @ _ -",
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    email = forms.EmailField(required=False)
    account_name = forms.CharField(
        max_length=100, required=False, help_text="A name for your new account (optional)."
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Confirm password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Shown under the password before the first try, in the validators' own words.
        self.password_rules = password_validation.password_validators_help_texts()
        rules = self.fields["password1"].widget.attrs
        rules["aria-describedby"] = "password-rules"

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if not all(c.isalnum() or c in USERNAME_CHARACTERS for c in username):
            raise ValidationError(
                "Use letters, digits and + = , . @ _ - only; no spaces "
                f"(at most {USERNAME_MAX} characters)."
            )
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise ValidationError(f"The username {username} is taken; choose another.")
        return username

    def clean(self):
        data = super().clean()
        password = data.get("password1")
        if password:
            # The validators compare the password with the username and email as given here.
            user = get_user_model()(
                username=data.get("username") or self.data.get("username", ""),
                email=data.get("email") or "",
            )
            try:
                password_validation.validate_password(password, user)
            except ValidationError as exc:
                for message in exc.messages:
                    self.add_error("password1", message)
            if data.get("password2") and password != data.get("password2"):
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
