"""Platform tables that belong to no app."""

from django.db import models
from django.utils import timezone


class OutboxEntry(models.Model):
    """A background job recorded with the transaction that asked for it, until Redis has it.

    The row commits or rolls back with the work it starts, so a committed request never loses its
    job to a Redis outage: the entry is pushed to RQ after the commit, or by the reconciler once
    Redis answers again, and deleted when RQ holds the job.
    """

    job_id = models.CharField(max_length=64, unique=True)
    queue = models.CharField(max_length=50)
    func = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.func} ({self.job_id})"
