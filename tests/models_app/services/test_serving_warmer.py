"""The warmer each web process runs: it loads the models of endpoints that went IN_SERVICE before
any call needs them, and nothing else."""

import time

import pytest

from models_app.models import Endpoint, EndpointStatus, ModelKind
from models_app.services import serving
from tests import factories
from webapp.accounts.services.accounts import account_of
from webapp.accounts.services.keys import key_create, key_disable


class Model:
    mode = "MULTI_CLASS"

    def predict_scores(self, texts):
        return [[("a", 0.9), ("b", 0.1)] for _ in texts]


@pytest.fixture
def loads(monkeypatch):
    """The versions whose artifacts were read, in order (reading is faked: no files here)."""
    read = []
    monkeypatch.setattr(serving, "_read", lambda v: read.append(v.pk) or Model())
    serving.warmer_stop()  # forgets what an earlier test warmed
    serving.clear()
    yield read
    serving.clear()


def endpoint(owner, name, version, status):
    return Endpoint.objects.create(
        account=owner.membership.account,
        kind=ModelKind.CLASSIFIER,
        name=name,
        status=status,
        version=version,
        desired_version=version,
        current_units=1,
    )


def trained(owner, name, **fields):
    return factories.version(
        owner,
        name=name,
        version_name="v1",
        artifact_uri="x",
        artifact_sha256=name[0] * 64,
        **fields,
    )


def test_it_loads_only_models_of_endpoints_in_service_and_each_once(owner, loads):
    waiting = trained(owner, "creating")
    failed = trained(owner, "failed")
    serving_v = trained(owner, "served")
    endpoint(owner, "new", waiting, EndpointStatus.CREATING)
    endpoint(owner, "broken", failed, EndpointStatus.FAILED)
    live = endpoint(owner, "live", serving_v, EndpointStatus.IN_SERVICE)
    assert serving.warm() == [serving_v.pk]
    assert loads == [serving_v.pk]
    assert serving.cached(serving_v.pk, serving_v.artifact_sha256) is not None
    assert serving.warm() == []  # seen: a later pass reads nothing again
    # The endpoint that was CREATING goes in service: the next pass loads its model.
    Endpoint.objects.filter(name="new").update(status=EndpointStatus.IN_SERVICE)
    assert serving.warm() == [waiting.pk]
    assert failed.pk not in loads and loads == [serving_v.pk, waiting.pk]
    # An update to another version is warmed too, once the endpoint is IN_SERVICE again.
    v2 = factories.version(
        owner, name="served", version_name="v2", artifact_uri="y", artifact_sha256="f" * 64
    )
    Endpoint.objects.filter(pk=live.pk).update(version=v2)
    assert serving.warm() == [v2.pk]


def test_a_model_whose_key_is_disabled_is_not_loaded(owner, loads):
    key = key_create(account=account_of(owner), user=owner)
    keyed = trained(owner, "keyed", model_key=key)
    endpoint(owner, "live", keyed, EndpointStatus.IN_SERVICE)
    key_disable(account=account_of(owner), user=owner, key_id=key.key_id)
    assert serving.warm() == []
    assert loads == []


def test_the_warmer_thread_loads_a_new_endpoint_without_a_call(transactional_db, owner, loads):
    version = trained(owner, "served")
    serving.warmer_start(every=0.05)
    try:
        endpoint(owner, "live", version, EndpointStatus.IN_SERVICE)
        deadline = time.monotonic() + 30
        while serving.cached(version.pk, version.artifact_sha256) is None:
            assert time.monotonic() < deadline, "the warmer did not load the model"
            time.sleep(0.05)
    finally:
        serving.warmer_stop()
    assert loads == [version.pk]
