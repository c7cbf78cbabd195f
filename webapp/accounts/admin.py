from django.contrib import admin

from webapp.accounts.models import AccessKey, Account, Membership, Tag


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
