"""Serves plotly.js from the installed plotly package, so charts need no CDN (works offline)."""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

_DIR = Path(plotly.__file__).parent / "package_data"
_NAME = "plotly.min.js"
PLOTLY_STATIC_PATH = f"vendor/{_NAME}"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(_DIR))
        self.storage.prefix = "vendor"

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path == PLOTLY_STATIC_PATH:
            found = str(_DIR / _NAME)
            return [found] if find_all else found
        return [] if find_all else None

    def list(self, ignore_patterns):
        yield _NAME, self.storage
