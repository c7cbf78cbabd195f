from django.core.management.base import BaseCommand, CommandError

from webapp.accounts.services.access_keys import access_key_create
from webapp.accounts.services.accounts import user_ensure
from webapp.core.errors import ServiceError


class Command(BaseCommand):
    help = "Create an API access key for a user (optionally creating the user and its account)."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument(
            "--create-user",
            action="store_true",
            help="Create the user (and a new account) if it does not exist.",
        )
        parser.add_argument("--account-id", help="12-digit account id for a newly created user.")

    def handle(self, *args, username, create_user, account_id, **options):
        try:
            user = user_ensure(username=username, account_id=account_id, create=create_user)
            key, secret = access_key_create(account=user.membership.account, user=user)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"AWS_ACCOUNT_ID={user.membership.account.account_id}")
        self.stdout.write(f"AWS_ACCESS_KEY_ID={key.key_id}")
        self.stdout.write(f"AWS_SECRET_ACCESS_KEY={secret}")
