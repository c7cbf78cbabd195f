import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0002_encryption_keys_and_audit_log'),
        ('models_app', '0005_model_copy'),
    ]

    operations = [
        migrations.CreateModel(
            name='Flywheel',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rq_job_id', models.CharField(blank=True, max_length=64)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('progress', models.FloatField(default=0.0)),
                ('progress_step', models.CharField(blank=True, max_length=200)),
                ('name', models.CharField(max_length=63)),
                ('status', models.CharField(choices=[('CREATING', 'Creating'), ('ACTIVE', 'Active'), ('UPDATING', 'Updating'), ('DELETING', 'Deleting'), ('FAILED', 'Failed')], default='CREATING', max_length=12)),
                ('kind', models.CharField(choices=[('classifier', 'Document classifier'), ('recognizer', 'Entity recognizer')], max_length=12)),
                ('task_config', models.JSONField(default=dict)),
                ('data_access_role_arn', models.CharField(max_length=2048)),
                ('data_lake_given_uri', models.CharField(max_length=512)),
                ('data_lake_uri', models.CharField(max_length=1024)),
                ('data_security_config', models.JSONField(default=dict)),
                ('message', models.TextField(blank=True)),
                ('client_request_token', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='flywheels', to='accounts.account')),
                ('active_version', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='active_in_flywheels', to='models_app.modelversion')),
                ('model', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='flywheels', to='models_app.custommodel')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='Dataset',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rq_job_id', models.CharField(blank=True, max_length=64)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('progress', models.FloatField(default=0.0)),
                ('progress_step', models.CharField(blank=True, max_length=200)),
                ('name', models.CharField(max_length=63)),
                ('dataset_type', models.CharField(choices=[('TRAIN', 'Train'), ('TEST', 'Test')], default='TRAIN', max_length=8)),
                ('description', models.CharField(blank=True, max_length=2048)),
                ('input_data_config', models.JSONField(default=dict)),
                ('status', models.CharField(choices=[('CREATING', 'Creating'), ('COMPLETED', 'Completed'), ('FAILED', 'Failed')], default='CREATING', max_length=12)),
                ('dataset_s3_uri', models.CharField(blank=True, max_length=1024)),
                ('number_of_documents', models.BigIntegerField(blank=True, null=True)),
                ('message', models.TextField(blank=True)),
                ('client_request_token', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('end_time', models.DateTimeField(blank=True, null=True)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account')),
                ('flywheel', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='datasets', to='flywheel_app.flywheel')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='FlywheelIteration',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rq_job_id', models.CharField(blank=True, max_length=64)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('progress', models.FloatField(default=0.0)),
                ('progress_step', models.CharField(blank=True, max_length=200)),
                ('iteration_id', models.CharField(max_length=16)),
                ('status', models.CharField(choices=[('TRAINING', 'Training'), ('EVALUATING', 'Evaluating'), ('COMPLETED', 'Completed'), ('FAILED', 'Failed'), ('STOP_REQUESTED', 'Stop Requested'), ('STOPPED', 'Stopped')], default='TRAINING', max_length=16)),
                ('evaluated_metrics', models.JSONField(blank=True, null=True)),
                ('trained_metrics', models.JSONField(blank=True, null=True)),
                ('evaluation_manifest_s3_prefix', models.CharField(blank=True, max_length=1024)),
                ('message', models.TextField(blank=True)),
                ('client_request_token', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('end_time', models.DateTimeField(blank=True, null=True)),
                ('evaluated_version', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='models_app.modelversion')),
                ('flywheel', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='iterations', to='flywheel_app.flywheel')),
                ('trained_version', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='models_app.modelversion')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.AddIndex(
            model_name='flywheel',
            index=models.Index(fields=['account', 'status'], name='flywheel_ap_account_d19f66_idx'),
        ),
        migrations.AddConstraint(
            model_name='flywheel',
            constraint=models.UniqueConstraint(fields=('account', 'name'), name='flywheel_unique_name'),
        ),
        migrations.AddIndex(
            model_name='dataset',
            index=models.Index(fields=['flywheel', 'status'], name='flywheel_ap_flywhee_7e0c12_idx'),
        ),
        migrations.AddConstraint(
            model_name='dataset',
            constraint=models.UniqueConstraint(fields=('flywheel', 'name'), name='dataset_unique_name'),
        ),
        migrations.AddIndex(
            model_name='flywheeliteration',
            index=models.Index(fields=['flywheel', 'status'], name='flywheel_ap_flywhee_2297c3_idx'),
        ),
        migrations.AddConstraint(
            model_name='flywheeliteration',
            constraint=models.UniqueConstraint(fields=('flywheel', 'iteration_id'), name='iteration_unique_id'),
        ),
    ]
