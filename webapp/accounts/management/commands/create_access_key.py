from django.core.management.base import BaseCommand, CommandError

from webapp.accounts.services.access_keys import access_key_create
from webapp.accounts.services.accounts import user_ensure
from webapp.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "Create an API access key for a user. The key works in the user's account: pass "
        "--account-id (the 12-digit id in the console's header) to reach what you made there."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--username",
            required=True,
            help="The user the key belongs to: your console user, or a new one with --create-user.",
        )
        parser.add_argument(
            "--create-user",
            action="store_true",
            help="Create the user if it does not exist: in --account-id's account, or a new one.",
        )
        parser.add_argument(
            "--account-id",
            help="12-digit id of the account the key works in (the console shows it in its "
            "header); a new user joins it, an existing user must belong to it.",
        )

    def handle(self, *args, username, create_user, account_id, **options):
        try:
            user, made = user_ensure(username=username, account_id=account_id, create=create_user)
            account = user.membership.account
            key, secret = access_key_create(account=account, user=user)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        # stdout stays KEY=VALUE lines a shell can read; the words for a person go to stderr.
        name = f"'{account.name}'" if account.name else "no name"
        self.stderr.write(
            f"Access key {key.key_id} of user {user.username} in account "
            f"{account.account_id} ({name})."
        )
        if made:
            self.stderr.write(
                f"Account {account.account_id} was made now and holds nothing yet; to reach what "
                "you made in the console, pass --account-id with the id in its header."
            )
        self.stdout.write(f"AWS_ACCOUNT_ID={account.account_id}")
        self.stdout.write(f"AWS_ACCESS_KEY_ID={key.key_id}")
        self.stdout.write(f"AWS_SECRET_ACCESS_KEY={secret}")
