import threading

from django_rq.management.commands.rqworker import Command as RQWorkerCommand

from webapp.background import reconcile_loop


class Command(RQWorkerCommand):
    """django-rq's worker, plus the reconciler that fails work whose worker died."""

    help = RQWorkerCommand.__doc__

    def handle(self, *args, **options):
        stop = threading.Event()
        threading.Thread(
            target=reconcile_loop, args=(stop,), daemon=True, name="textwheel-reconciler"
        ).start()
        try:
            return super().handle(*args, **options)
        finally:
            stop.set()
