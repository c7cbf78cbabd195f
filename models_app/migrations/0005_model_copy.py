import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_encryption_keys_and_audit_log"),
        ("models_app", "0004_resource_policy"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="source_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="models_app.modelversion",
            ),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="model_key",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.encryptionkey",
            ),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="volume_key",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.encryptionkey",
            ),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="data_key_wrapped",
            field=models.BinaryField(blank=True, default=b""),
        ),
    ]
