from django.contrib import admin

from webapp.accounts.models import AccessKey, Account, AuditEvent, EncryptionKey, Membership, Tag


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("account_id", "name", "created_at")
    search_fields = ("account_id", "name")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "account", "role", "created_at")
    list_filter = ("role",)


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    list_display = ("key_id", "user", "account", "created_at", "last_used_at", "revoked_at")
    exclude = ("secret_encrypted",)
    readonly_fields = ("key_id", "account", "user", "created_at", "last_used_at")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("resource_arn", "key", "value", "account")
    search_fields = ("resource_arn", "key")


@admin.register(EncryptionKey)
class EncryptionKeyAdmin(admin.ModelAdmin):
    list_display = ("key_id", "account", "enabled", "created_at", "updated_at")
    list_filter = ("enabled",)
    search_fields = ("key_id", "description")
    exclude = ("material_wrapped",)
    readonly_fields = ("key_id", "account", "enabled", "created_at", "updated_at")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "account", "actor_user", "operation", "outcome", "resource_arn")
    list_filter = ("operation", "outcome")
    search_fields = ("resource_arn", "actor_user", "actor_account_id")

    # The log is evidence: nobody edits or deletes it here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
