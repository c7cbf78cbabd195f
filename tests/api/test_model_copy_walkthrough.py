"""Comprehend's model copy walkthrough, its AWS CLI commands run as printed against Textwheel.

The commands are the walkthrough's, with its placeholders filled (<region>, <aws-account-nr>,
<user>) and `--endpoint-url` added. The walkthrough names its model inconsistently (it creates
"…-Dev" and "…-Prd" but describes and imports "…-Dev1" and runs a job on "…-Prd"): the names the
commands themselves create are used throughout.
"""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models_app.models import AnalysisJob, JobStatus, ModelStatus, ModelVersion
from tests.conftest import run_queued_jobs
from webapp.accounts.services.access_keys import access_key_create
from webapp.accounts.services.accounts import user_signup
from webapp.core import storage

pytestmark = pytest.mark.usefixtures("transactional_db")

REGION = "us-west-2"

CREATE = r"""aws comprehend create-entity-recognizer \
     --language-code en \
     --version-name "1"\
     --recognizer-name "AWS-Offerings-Entity-Recognizer-Dev"\
     --data-access-role-arn "arn:aws:iam::<aws-account-nr>:role/service-role/AmazonComprehendServiceRole-ModelCopyTraining" \
     --input-data-config "DataFormat=COMPREHEND_CSV, EntityTypes=[{Type=AWS_OFFERING}],Documents={S3Uri=s3://import-model-blog/aws-offerings-docs.txt},
    EntityList={S3Uri=s3://import-model-blog/aws-offerings.csv"} \
     --region "us-west-2"
"""

DESCRIBE = r"""aws comprehend describe-entity-recognizer \
--entity-recognizer-arn "arn:aws:comprehend:<region>:<aws-account-nr>:entity-recognizer/AWS-Offerings-Entity-Recognizer-Dev/version/1" \
--region us-west-2
"""

PUT_POLICY = r"""aws comprehend put-resource-policy \
--resource-arn "arn:aws:comprehend:<region>:<aws-account-nr>:entity-recognizer/AWS-Offerings-Entity-Recognizer-Dev/version/1" \
--resource-policy "{\"Version\":\"2012-10-17\",
    \"Statement\":[{\"Sid\":\"ModelCopy\",
    \"Effect\":\"Allow\",\"Action\":[\"comprehend:ImportModel\"],
    \"Resource\":\"arn:aws:comprehend:<region>:<aws-account-nr>:entity-recognizer/AWS-Offerings-Entity-Recognizer-Dev/version/1\",
    \"Principal\":{\"AWS\":[\"arn:aws:iam::<aws-account-nr>:<user>\"], \"Service\": [ \"comprehend.amazonaws.com.rproxy.goskope.com\"]}}]}"
"""

# As printed, the walkthrough's import command ends at --version-name (its next line lacks the
# continuation backslash), and it gives no --region: the CLI takes the configured one.
IMPORT = r"""aws comprehend import-model \
--source-model-arn "arn:aws:comprehend:<region>:<aws-account-nr>:entity-recognizer/AWS-Offerings-Entity-Recognizer-Dev/version/1" \
--model-name "AWS-Offerings-Entity-Recognizer-Prd" \
--version-name "1"
"""

START_JOB = r"""aws comprehend start-entities-detection-job \
--entity-recognizer-arn "arn:aws:comprehend:<region>:<aws-account-nr>:entity-recognizer/AWS-Offerings-Entity-Recognizer-Prd/version/1" \
--job-name "Test-Entity-Detection-Job" \
--data-access-role-arn "arn:aws:iam::<aws-account-nr>:role/service-role/ComprehendDataAccessRole" \
--language-code "en" \
--input-data-config "S3Uri= s3://import-model-blog/aws-offerings-test.txt" \
--output-data-config "S3Uri= s3://import-model-blog/output/ " \
--region "us-west-2"
"""

OFFERINGS = [
    "Amazon EC2",
    "Amazon S3",
    "AWS Lambda",
    "Amazon DynamoDB",
    "Amazon Comprehend",
    "Amazon SageMaker",
    "Amazon Redshift",
    "AWS Glue",
    "Amazon Kinesis",
    "Amazon Athena",
    "Amazon RDS",
    "AWS Fargate",
]
SENTENCES = [
    "Our team moved the batch workload to {a} last spring.",
    "The pipeline reads events from {a} and writes summaries to {b}.",
    "We compared {a} with {b} before choosing a design.",
    "Costs fell after the reports were rebuilt on {a}.",
    "The new service stores its state in {a} and scales with {b}.",
    "Nobody on the call had used {a} before.",
]


def training_files() -> tuple[bytes, bytes]:
    docs = []
    for i in range(180):
        a, b = OFFERINGS[i % len(OFFERINGS)], OFFERINGS[(i * 5 + 3) % len(OFFERINGS)]
        docs.append(SENTENCES[i % len(SENTENCES)].format(a=a, b=b))
    entity_list = "Text,Type\n" + "".join(f"{o},AWS_OFFERING\n" for o in OFFERINGS)
    return ("\n".join(docs) + "\n").encode(), entity_list.encode()


def run(command: str, user, url: str, fill: list[tuple[str, str]]) -> dict:
    """Run one printed command with bash, signed with the user's access key, against Textwheel."""
    for placeholder, value in fill:
        command = command.replace(placeholder, value)
    command = command.rstrip() + f" --endpoint-url {url}"
    key, secret = user.cli_key
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_ACCESS_KEY_ID": key.key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_DEFAULT_OUTPUT": "json",
        "AWS_MAX_ATTEMPTS": "1",
    }
    done = subprocess.run(
        ["bash", "-c", command], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def test_the_model_copy_walkthrough_runs_as_printed(live_server, settings):
    settings.AWS_REGION = REGION
    settings.RECOGNIZER_TIME_BUDGET_SECONDS = 10  # a small entity list trains in seconds
    source = user_signup(username="source-admin", password="a-long-password-1")
    target = user_signup(username="target-admin", password="a-long-password-1")
    for user in (source, target):
        user.cli_key = access_key_create(account=user.membership.account, user=user)
    a = source.membership.account.account_id
    b = target.membership.account.account_id
    docs, entity_list = training_files()
    for key, data in (("aws-offerings-docs.txt", docs), ("aws-offerings.csv", entity_list)):
        storage.save_upload(a, storage.S3Uri("import-model-blog", key), io.BytesIO(data))
    test_docs = b"We keep the raw files in Amazon S3 and query them with Amazon Athena.\n"
    test_uri = storage.S3Uri("import-model-blog", "aws-offerings-test.txt")
    storage.save_upload(b, test_uri, io.BytesIO(test_docs))
    url = live_server.url + "/"
    # The policy's principal is the target account (its root: every user of it).
    in_a = [
        ("arn:aws:iam::<aws-account-nr>:<user>", f"arn:aws:iam::{b}:root"),
        ("<region>", REGION),
        ("<aws-account-nr>", a),
    ]
    in_b = [("<region>", REGION), ("<aws-account-nr>", b)]

    # Train in the source account.
    created = run(CREATE, source, url, in_a)
    assert created["EntityRecognizerArn"].endswith(
        f":{a}:entity-recognizer/AWS-Offerings-Entity-Recognizer-Dev/version/1"
    )
    run_queued_jobs()
    props = run(DESCRIBE, source, url, in_a)["EntityRecognizerProperties"]
    assert props["Status"] in (ModelStatus.TRAINED, ModelStatus.TRAINED_WITH_WARNING), props

    # Share it with the target account's root, then import it there.
    revision = run(PUT_POLICY, source, url, in_a)["PolicyRevisionId"]
    assert len(revision) >= 32
    imported = run(IMPORT, target, url, in_a)
    assert imported["ModelArn"].endswith(
        f":{b}:entity-recognizer/AWS-Offerings-Entity-Recognizer-Prd/version/1"
    )
    run_queued_jobs()
    copy = ModelVersion.objects.get(account__account_id=b)
    assert copy.status == ModelStatus.TRAINED, copy.message
    assert copy.source_model_arn == created["EntityRecognizerArn"]

    # Test the copy with a batch job in the target account.
    job = run(START_JOB, target, url, in_b)
    run_queued_jobs()
    row = AnalysisJob.objects.get(account__account_id=b, job_id=job["JobId"])
    assert row.status == JobStatus.COMPLETED, row.message
    assert row.version_id == copy.pk
