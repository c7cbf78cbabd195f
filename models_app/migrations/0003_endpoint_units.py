from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("models_app", "0002_inference")]

    operations = [
        migrations.RenameField("endpoint", "desired_inference_units", "desired_units"),
        migrations.RenameField("endpoint", "current_inference_units", "current_units"),
    ]
