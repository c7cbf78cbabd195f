"""gunicorn's settings for Textwheel; gunicorn reads ./gunicorn.conf.py when started here.

`make web` and `manage.py serve` (what `make run` starts) both run gunicorn from this folder.
"""

# The thread worker, whose own refusals (a header over 8,190 bytes, more than 100 headers, a
# duplicate Host) answer in AWS's JSON error shape instead of an HTML page.
worker_class = "webapp.api.gunicorn_worker.AwsErrorThreadWorker"
