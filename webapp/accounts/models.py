"""Tenants: accounts, their members, access keys for the API, tags of any resource, encryption
keys and the audit log."""

from django.conf import settings
from django.db import models


class Account(models.Model):
    account_id = models.CharField(max_length=12, unique=True)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(account_id__regex=r"^[0-9]{12}$"), name="account_id_12_digits"
            )
        ]

    def __str__(self) -> str:
        return self.account_id


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "OWNER", "Owner"
        MEMBER = "MEMBER", "Member"

    # One account per user keeps "which account am I working in" unambiguous, as an IAM user is.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"


class AccessKey(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="access_keys")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_keys"
    )
    key_id = models.CharField(max_length=20, unique=True)
    # Fernet-encrypted with a key derived from SECRET_KEY: SigV4 needs the secret itself to
    # recompute signatures, so a one-way hash cannot work here.
    secret_encrypted = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.key_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Tag(models.Model):
    """A tag on any resource, keyed by its ARN (one table for every resource type)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tags")
    resource_arn = models.CharField(max_length=256)
    key = models.CharField(max_length=128)
    value = models.CharField(max_length=256, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource_arn", "key"], name="tag_unique_key")
        ]
        indexes = [models.Index(fields=["account", "resource_arn"])]
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


class EncryptionKey(models.Model):
    """A KMS-like symmetric key of an account; its material never leaves the server unwrapped."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="encryption_keys")
    key_id = models.CharField(max_length=36, unique=True)  # a UUID, as KMS key ids are
    description = models.CharField(max_length=8192, blank=True)  # KMS's limit
    enabled = models.BooleanField(default=True)
    # 32 random bytes sealed (AES-256-GCM) by a server key derived from SECRET_KEY and bound to
    # key_id: a stolen database alone does not open the models encrypted with it.
    material_wrapped = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.key_id

    @property
    def arn(self) -> str:
        return f"arn:aws:kms:{settings.AWS_REGION}:{self.account.account_id}:key/{self.key_id}"


class AuditEvent(models.Model):
    """Who did what to which resource, from where, and how it ended; one row per account log."""

    class Outcome(models.TextChoices):
        ALLOWED = "Allowed", "Allowed"
        REFUSED = "Refused", "Refused"
        SUCCEEDED = "Succeeded", "Succeeded"
        FAILED = "Failed", "Failed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="audit_events")
    actor_account_id = models.CharField(max_length=12, blank=True)
    actor_user = models.CharField(max_length=150, blank=True)
    operation = models.CharField(max_length=64)
    resource_arn = models.CharField(max_length=2048, blank=True)
    revision = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.CharField(max_length=500, blank=True)
    client_address = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="audit_account_newest")]

    def __str__(self) -> str:
        return f"{self.operation} {self.outcome} {self.resource_arn}"
