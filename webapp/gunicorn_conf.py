"""gunicorn's settings for Textwheel: every command that starts gunicorn passes
`--config python:webapp.gunicorn_conf` (`make web`, `manage.py serve`, the benches and tests).
"""

# The thread worker, whose own refusals (a header over 8,190 bytes, more than 100 headers, a
# duplicate Host) answer in AWS's JSON error shape instead of an HTML page.
worker_class = "webapp.api.gunicorn_worker.AwsErrorThreadWorker"


def post_worker_init(worker):
    """Each web process loads the models of endpoints as they go in service, before any call
    (models_app.services.serving's warmer): the first call is then as fast as the rest."""
    from models_app.services import serving

    # torch's threads per process: this process's share of the cores (SERVING_TORCH_THREADS).
    serving.torch_threads_for_web(worker.cfg.workers)
    serving.warmer_start()
