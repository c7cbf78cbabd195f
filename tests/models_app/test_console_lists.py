"""Sorting and paging of the console's lists, done on the server so both cover every row."""

import datetime as dt
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from models_app.models import (
    AnalysisJob,
    CustomModel,
    Endpoint,
    EndpointStatus,
    JobKind,
    JobStatus,
    ModelKind,
    ModelStatus,
)
from tests import factories
from tests.models_app.pages import text
from webapp.accounts.models import AccessKey
from webapp.accounts.services.access_keys import access_key_create, access_key_revoke
from webapp.accounts.services.accounts import member_add

START = timezone.make_aware(dt.datetime(2024, 1, 1, 9, 0))


def first_cells(body: str, testid: str) -> list[str]:
    """The text of the first cell of each row marked data-testid=<testid>, in page order."""
    rows = re.findall(rf'<tr data-testid="{testid}"[^>]*>(.*?)</tr>', body, re.S)
    return [
        re.sub(r"<[^>]+>", "", re.search(r"<td[^>]*>(.*?)</td>", r, re.S).group(1)) for r in rows
    ]


def listed(client, url: str, testid: str, **params) -> tuple[list[str], str]:
    """GET a list page: the first cells of its rows, and the page."""
    body = text(client.get(url, params))
    return first_cells(body, testid), body


def pager_status(body: str) -> str:
    return re.search(r'data-testid="pager-status">(.*?)</span>', body).group(1)


def link(body: str, rel: str) -> str:
    return re.search(rf'<a class="btn btn-small" href="([^"]+)" rel="{rel}"', body).group(1)


def header_link(body: str, label: str) -> str:
    return re.search(rf'<a class="sort-link" href="([^"]+)">{label}</a>', body).group(1)


def sorted_header(body: str) -> tuple[str, str]:
    found = re.findall(r'<th scope="col"[^>]* aria-sort="(\w+)"><a[^>]*>([^<]+)</a>', body)
    assert len(found) == 1, found
    return found[0][1], found[0][0]


@pytest.fixture
def thirty_classifiers(owner, outsider):
    """30 classifiers m00…m29 created an hour apart; F1 rises with the number, except that m03
    has the best and m27 none; every third one's latest version is still training."""
    for i in range(30):
        f1 = {3: 0.99, 27: None}.get(i, round(0.1 + i / 100, 2))
        status = ModelStatus.TRAINING if i % 3 == 2 else ModelStatus.TRAINED
        metrics = None if f1 is None else {"F1Score": f1}
        factories.version(
            owner, name=f"m{i:02d}", version_name="v1", status=status, metrics=metrics
        )
        CustomModel.objects.filter(name=f"m{i:02d}").update(
            created_at=START + dt.timedelta(hours=i)
        )
    factories.version(outsider, name="m-outsider", metrics={"F1Score": 1.0})


def test_the_model_list_pages_25_rows_by_name(client, owner, thirty_classifiers):
    client.force_login(owner)
    url = reverse("models_app:classifier-list")
    body = text(client.get(url))
    assert first_cells(body, "model-row") == [f"m{i:02d}" for i in range(25)]
    assert pager_status(body) == "Rows 1–25 of 30"
    assert sorted_header(body) == ("Model name", "ascending")
    assert 'rel="prev"' not in body

    body = text(client.get(url + link(body, "next")))
    assert first_cells(body, "model-row") == [f"m{i:02d}" for i in range(25, 30)]
    assert pager_status(body) == "Rows 26–30 of 30"
    assert "Page 2 of 2" in body and 'rel="next"' not in body
    assert "m-outsider" not in body


def test_sorting_covers_every_row_not_only_the_page(client, owner, thirty_classifiers):
    client.force_login(owner)
    url = reverse("models_app:classifier-list")
    body = text(client.get(url, {"page": 2}))
    # A header link sorts from the first page; the best F1 (m03) leads, no score comes last.
    f1 = header_link(body, "F1 score \\(macro\\)")
    assert f1 == "?sort=f1&dir=desc"
    body = text(client.get(url + f1))
    names = first_cells(body, "model-row")
    assert names[:3] == ["m03", "m29", "m28"]
    assert sorted_header(body) == ("F1 score (macro)", "descending")
    body = text(client.get(url + link(body, "next")))
    assert first_cells(body, "model-row")[-1] == "m27"  # no score: last either way
    body = text(client.get(url, {"sort": "f1", "dir": "asc"}))
    assert first_cells(body, "model-row")[0] == "m00"
    body = text(client.get(url, {"sort": "f1", "dir": "asc", "page": 2}))
    assert first_cells(body, "model-row")[-1] == "m27"

    body = text(client.get(url, {"sort": "created", "dir": "desc"}))
    assert first_cells(body, "model-row")[:2] == ["m29", "m28"]
    assert header_link(body, "Created") == "?sort=created&dir=asc"  # the sorted column flips
    assert header_link(body, "Versions") == "?sort=versions&dir=desc"  # counts start high


def test_sorting_and_paging_keep_the_filters(client, owner, thirty_classifiers):
    client.force_login(owner)
    url = reverse("models_app:classifier-list")
    params = {"status": "TRAINED", "name": "m", "sort": "created", "dir": "desc"}
    body = text(client.get(url, params))
    trained = [f"m{i:02d}" for i in reversed(range(30)) if i % 3 != 2]
    assert first_cells(body, "model-row") == trained
    assert pager_status(body) == "Rows 1–20 of 20"
    # Header links keep the filters and drop the page; the filter form keeps the sort.
    assert header_link(body, "Status") == "?status=TRAINED&name=m&sort=status&dir=asc"
    assert '<input type="hidden" name="sort" value="created">' in body
    assert '<input type="hidden" name="dir" value="desc">' in body

    body = text(client.get(url, {"status": "TRAINING", "sort": "name", "dir": "desc"}))
    assert first_cells(body, "model-row") == [
        f"m{i:02d}" for i in (29, 26, 23, 20, 17, 14, 11, 8, 5, 2)
    ]
    assert "badge-info" in body and "badge-ok" not in body


def test_page_size_and_bad_parameters(client, owner, thirty_classifiers):
    client.force_login(owner)
    url = reverse("models_app:classifier-list")
    body = text(client.get(url, {"per_page": 50, "name": "m"}))
    assert len(first_cells(body, "model-row")) == 30
    assert pager_status(body) == "Rows 1–30 of 30"
    assert header_link(body, "Status") == "?name=m&sort=status&dir=asc&per_page=50"
    assert '<option value="50" selected>' in body
    # The rows-per-page form keeps the filters and the sort.
    form = re.search(r'<form method="get" class="page-size">(.*?)</form>', body, re.S).group(1)
    kept = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form)
    assert kept == [("name", "m"), ("sort", "name"), ("dir", "asc")]

    # Unknown columns, directions and sizes fall back; a page past the end shows the last one.
    body = text(client.get(url, {"sort": "password", "dir": "sideways", "per_page": 7}))
    assert sorted_header(body) == ("Model name", "ascending")
    assert pager_status(body) == "Rows 1–25 of 30"
    body = text(client.get(url, {"page": 99}))
    assert pager_status(body) == "Rows 26–30 of 30"
    body = text(client.get(url, {"page": "x"}))
    assert pager_status(body) == "Rows 1–25 of 30"


def test_the_recognizer_list_sorts_by_its_f1_score(client, owner, outsider):
    for name, f1 in (("people", 0.5), ("places", 0.9), ("things", 0.7)):
        factories.version(owner, name=name, kind=ModelKind.RECOGNIZER, metrics={"F1Score": f1})
    factories.version(outsider, name="secret", kind=ModelKind.RECOGNIZER, metrics={"F1Score": 1})
    client.force_login(owner)
    body = text(client.get(reverse("models_app:recognizer-list"), {"sort": "f1", "dir": "desc"}))
    assert first_cells(body, "model-row") == ["places", "things", "people"]
    assert "90.00%" in body and "secret" not in body
    assert pager_status(body) == "Rows 1–3 of 3"
    assert 'class="page-size"' not in body  # one page of the smallest size: nothing to choose


def test_the_model_list_counts_versions_and_shows_the_latest(client, owner):
    factories.version(owner, name="news", version_name="v1", metrics={"F1Score": 0.4})
    factories.version(owner, name="news", version_name="v2", metrics={"F1Score": 0.8})
    factories.version(owner, name="spam", version_name="only", metrics={"F1Score": 0.6})
    client.force_login(owner)
    body = text(client.get(reverse("models_app:classifier-list"), {"sort": "versions"}))
    assert first_cells(body, "model-row") == ["news", "spam"]
    row = re.search(r'<tr data-testid="model-row">(.*?)</tr>', body, re.S).group(1)
    assert '<td class="num">2</td>' in row and ">v2</a>" in row and "0.8000" in row


def endpoints(user, count: int):
    version = factories.version(user, name="intents", version_name="v1")
    for i in range(count):
        Endpoint.objects.create(
            account=user.membership.account,
            kind=ModelKind.CLASSIFIER,
            name=f"ep{i:02d}",
            status=EndpointStatus.IN_SERVICE if i % 2 else EndpointStatus.FAILED,
            version=version,
            desired_version=version,
            current_units=1 + i % 5,
        )


def test_the_endpoint_list_sorts_and_pages(client, owner, outsider):
    endpoints(owner, 27)
    endpoints(outsider, 3)
    client.force_login(owner)
    url = reverse("inference:endpoint-list")
    names, body = listed(client, url, "endpoint-row")
    assert names == [f"ep{i:02d}" for i in range(25)]
    assert pager_status(body) == "Rows 1–25 of 27"
    body = text(client.get(url + link(body, "next")))
    assert first_cells(body, "endpoint-row") == ["ep25", "ep26"]

    body = text(client.get(url + header_link(body, "Inference units")))
    names = first_cells(body, "endpoint-row")
    # 5 units, then 4; ties go the column's way too, so asc is exactly desc reversed.
    assert names[:6] == ["ep24", "ep19", "ep14", "ep09", "ep04", "ep23"]
    body = text(client.get(url, {"sort": "units", "dir": "asc", "page": 2}))
    assert first_cells(body, "endpoint-row") == ["ep19", "ep24"]
    body = text(client.get(url, {"sort": "status", "dir": "desc"}))
    assert first_cells(body, "endpoint-row")[0] == "ep25"  # IN_SERVICE after FAILED
    assert sorted_header(body) == ("Status", "descending")
    assert '<span class="visually-hidden">Actions</span>' in body


def make_jobs(user, count: int):
    version = factories.version(user, name="intents", version_name="v1")
    for i in range(count):
        job = AnalysisJob.objects.create(
            account=user.membership.account,
            job_id=uuid.uuid4().hex,
            kind=JobKind.ENTITIES if i % 4 == 0 else JobKind.CLASSIFICATION,
            job_name=f"job{i:02d}",
            version=version,
            model_arn=version.arn,
            output_uri="s3://out/output.tar.gz",
            status=JobStatus.COMPLETED if i == 5 else JobStatus.IN_PROGRESS,
            documents_total=100,
            documents_done=i,
        )
        AnalysisJob.objects.filter(pk=job.pk).update(submit_time=START + dt.timedelta(minutes=i))


def test_the_job_list_sorts_by_progress_and_keeps_the_type_filter(client, owner, outsider):
    client.force_login(owner)
    make_jobs(outsider, 2)
    make_jobs(owner, 30)
    url = reverse("inference:job-list")
    names, body = listed(client, url, "job-row")
    assert names == [f"job{i:02d}" for i in range(29, 4, -1)]  # newest first
    assert pager_status(body) == "Rows 1–25 of 30"
    assert sorted_header(body) == ("Submitted", "descending")

    names, _ = listed(client, url, "job-row", sort="progress", dir="desc")
    assert names[:3] == ["job05", "job29", "job28"]  # a completed job is 100% done

    names, body = listed(client, url, "job-row", kind=JobKind.CLASSIFICATION, sort="name")
    assert names == [f"job{i:02d}" for i in range(30) if i % 4]
    assert pager_status(body) == "Rows 1–22 of 22"
    assert header_link(body, "Documents") == "?kind=classification&sort=documents&dir=desc"


def test_access_keys_and_users_sort_and_page(client, owner, member, outsider):
    account = owner.membership.account
    made = []
    for i in range(27):  # a user has at most two active keys: all but the last two are revoked
        key = access_key_create(account=account, user=owner)[0]
        AccessKey.objects.filter(pk=key.pk).update(created_at=START + dt.timedelta(minutes=i))
        if i < 25:
            access_key_revoke(account=account, user=owner, key_id=key.key_id)
        made.append(key)
    access_key_create(account=outsider.membership.account, user=outsider)
    client.force_login(owner)
    url = reverse("accounts:credentials")
    body = text(client.get(url))
    assert first_cells(body, "key-row") == [k.key_id for k in reversed(made[2:])]  # newest first
    assert pager_status(body) == "Rows 1–25 of 27"
    body = text(client.get(url + header_link(body, "Status")))
    assert first_cells(body, "key-row")[:3] == [made[25].key_id, made[26].key_id, made[0].key_id]
    body = text(client.get(url, {"sort": "status", "dir": "desc"}))
    assert first_cells(body, "key-row")[0] == made[24].key_id  # revoked ones first

    for name in ("zoe", "adam"):
        member_add(account=account, actor=owner, username=name, password="x-very-long-pw-1")
    url = reverse("accounts:members")
    body = text(client.get(url))
    assert first_cells(body, "member-row") == ["owner", "member", "zoe", "adam"]  # as added
    body = text(client.get(url + header_link(body, "User")))
    assert first_cells(body, "member-row") == ["adam", "member", "owner", "zoe"]
    assert "outsider" not in body
