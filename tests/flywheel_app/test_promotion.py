"""The promotion rule: off by default, set in the console, and applied when an iteration
completes (promoted through UpdateFlywheel's path, or not, with the reason recorded)."""

import pytest
from django.urls import reverse

from flywheel_app.models import Flywheel, FlywheelIteration, IterationStatus
from flywheel_app.services import flywheels, iterations, promotion
from flywheel_app.services.evaluation import Scored
from models_app.kinds import ModelKind
from models_app.models import Endpoint, EndpointStatus
from tests import factories
from tests.conftest import run_queued_jobs
from tests.flywheel_app.test_iterations import LABELS, add_dataset, csv_rows, flywheel_of_v1
from tests.flywheel_app.test_services import new_flywheel
from tests.flywheel_app.test_views import create_form
from webapp.core.errors import ServiceError

pytestmark = pytest.mark.usefixtures("transactional_db")


def scored(version, f1: float, per_label: dict[str, float]) -> Scored:
    """A classifier version's figures on a pool, as `evaluation.evaluate` returns them."""
    return Scored(
        version=version,
        predicted=[],
        averages={"AverageF1Score": f1, "AveragePrecision": f1, "AverageRecall": f1},
        details={"per_label": [{"label": k, "f1": v, "support": 10} for k, v in per_label.items()]},
    )


def ready_flywheel(user) -> Flywheel:
    fw = new_flywheel(user)
    run_queued_jobs()
    fw.refresh_from_db()
    assert fw.status == "ACTIVE", fw.message
    return fw


def test_the_rule_is_off_by_default_and_set_by_the_service(owner, outsider):
    fw = ready_flywheel(owner)
    assert fw.promote_automatically is None and not fw.promotes
    account = owner.membership.account
    # Switched on without figures, it takes the defaults.
    fw = flywheels.flywheel_promotion_set(account=account, arn=fw.arn, enabled=True)
    assert fw.promotes
    assert (fw.promotion_margin, fw.promotion_max_label_drop) == (0.01, 0.05)
    fw = flywheels.flywheel_promotion_set(
        account=account, arn=fw.arn, enabled=True, margin="0.2", max_label_drop=0
    )
    assert (fw.promotion_margin, fw.promotion_max_label_drop) == (0.2, 0.0)
    # Off keeps the figures for next time.
    fw = flywheels.flywheel_promotion_set(account=account, arn=fw.arn, enabled=False)
    assert not fw.promotes and fw.promotion_margin == 0.2
    for margin, drop, field in (
        (1.5, None, "PromotionMargin"),
        (None, "-1", "PromotionMaxLabelDrop"),
        ("many", None, "PromotionMargin"),
    ):
        with pytest.raises(ServiceError) as excinfo:
            flywheels.flywheel_promotion_set(
                account=account, arn=fw.arn, enabled=True, margin=margin, max_label_drop=drop
            )
        assert excinfo.value.code == "ValidationException" and excinfo.value.field == field
        assert "from 0 to 1" in excinfo.value.message
    with pytest.raises(ServiceError) as excinfo:
        flywheels.flywheel_promotion_set(
            account=outsider.membership.account, arn=fw.arn, enabled=True
        )
    assert excinfo.value.code == "ResourceNotFoundException"
    fw.refresh_from_db()
    assert not fw.promotes


def test_a_completed_iteration_is_promoted_only_when_the_rule_holds(owner):
    fw = ready_flywheel(owner)
    v1 = fw.active_version
    v2 = factories.version(owner, name=v1.model.name, version_name="v2")
    # An endpoint that follows the flywheel, in service with v1.
    endpoint = Endpoint.objects.create(
        account=fw.account,
        kind=ModelKind.CLASSIFIER,
        name="follows",
        status=EndpointStatus.IN_SERVICE,
        version=v1,
        flywheel_arn=fw.arn,
        current_units=1,
    )
    before = scored(v1, 0.80, {"alarm": 0.90, "account_blocked": 0.70, "accept_reservations": 0.8})

    def promote(after):
        return promotion.iteration_promote(flywheel_id=fw.pk, evaluated=before, trained=after)

    def active():
        return Flywheel.objects.get(pk=fw.pk).active_version_id

    good = scored(v2, 0.90, {"alarm": 0.88, "account_blocked": 0.92, "accept_reservations": 0.9})
    # Off (the default): nothing happens and nothing is said.
    assert promote(good) == "" and active() == v1.pk

    account = owner.membership.account
    flywheels.flywheel_promotion_set(
        account=account, arn=fw.arn, enabled=True, margin=0.05, max_label_drop=0.05
    )
    # The margin is not met.
    small = scored(v2, 0.84, {"alarm": 0.9, "account_blocked": 0.8, "accept_reservations": 0.82})
    reason = promote(small)
    assert reason.startswith("Not promoted automatically")
    assert "0.8000 to 0.8400 (+0.0400)" in reason and "at least 0.0500" in reason
    assert active() == v1.pk
    # Better on average, but one label falls too far.
    uneven = scored(v2, 0.90, {"alarm": 0.80, "account_blocked": 0.95, "accept_reservations": 0.95})
    reason = promote(uneven)
    assert reason.startswith("Not promoted automatically")
    assert "1 label fell by more than the promotion rule allows (0.0500)" in reason
    assert "alarm from 0.9000 to 0.8000" in reason and "account_blocked" not in reason
    assert active() == v1.pk

    # The rule holds: promoted through UpdateFlywheel's path, so the endpoint follows.
    reason = promote(good)
    assert reason.startswith("Promoted automatically: AverageF1Score went from 0.8000 to 0.9000")
    assert active() == v2.pk
    endpoint.refresh_from_db()
    assert endpoint.status == EndpointStatus.UPDATING and endpoint.desired_version_id == v2.pk
    assert endpoint.version_id == v1.pk  # v1 answers until v2 is loaded

    # An iteration scored against a version that is no longer active promotes nothing.
    v3 = factories.version(owner, name=v1.model.name, version_name="v3")
    reason = promote(scored(v3, 0.99, {"alarm": 0.99}))
    assert "active version changed while the iteration ran" in reason
    assert active() == v2.pk


def test_an_entity_types_drop_is_named_as_such(owner):
    fw = Flywheel(kind=ModelKind.RECOGNIZER, promotion_margin=0.0, promotion_max_label_drop=0.1)

    def recognizer(f1, types):
        rows = [{"Type": t, "EvaluationMetrics": {"F1Score": v}} for t, v in types.items()]
        return Scored(None, [], {"AverageF1Score": f1}, {"EntityTypes": rows})

    decision = promotion.promotion_decide(
        fw,
        recognizer(0.5, {"PERSON": 0.6, "LOCATION": 0.4}),
        recognizer(0.6, {"PERSON": 0.9, "LOCATION": 0.25}),
    )
    assert not decision.promote
    assert "1 entity type fell" in decision.reason and "LOCATION from 0.4000 to 0.2500" in (
        decision.reason
    )
    # A type the new version no longer finds at all counts as a drop to 0.
    decision = promotion.promotion_decide(
        fw, recognizer(0.5, {"PERSON": 0.6, "MISC": 0.2}), recognizer(0.6, {"PERSON": 0.9})
    )
    assert not decision.promote and "MISC from 0.2000 to 0.0000" in decision.reason
    decision = promotion.promotion_decide(
        fw, recognizer(0.5, {"PERSON": 0.6}), recognizer(0.5, {"PERSON": 0.55})
    )
    assert decision.promote  # a gain of 0 meets a margin of 0, and 0.05 is within the bound


def test_an_iteration_with_the_rule_on_promotes_its_version(api, owner, store, client):
    flywheel = flywheel_of_v1(api, store, owner, name="auto")
    v1 = flywheel.active_version
    account = owner.membership.account
    # A margin of 0 and no bound on labels: as good as before is enough.
    flywheels.flywheel_promotion_set(
        account=account, arn=flywheel.arn, enabled=True, margin=0, max_label_drop=1
    )
    add_dataset(owner, flywheel, "more", csv_rows(LABELS))
    run_queued_jobs()
    started = iterations.flywheel_iteration_start(account=account, flywheel_arn=flywheel.arn)
    run_queued_jobs()
    it = FlywheelIteration.objects.get(pk=started.pk)
    assert it.status == IterationStatus.COMPLETED, it.message
    # Both versions score 1.0 on this easy pool (seeded training): a gain of 0 meets the margin.
    assert it.evaluated_metrics["AverageF1Score"] == it.trained_metrics["AverageF1Score"] == 1.0
    assert it.message.startswith(
        "Promoted automatically: AverageF1Score went from 1.0000 to 1.0000"
    )
    flywheel.refresh_from_db()
    assert flywheel.active_version_id == it.trained_version_id != v1.pk
    # The iteration's page shows why.
    client.force_login(owner)
    page = client.get(
        reverse("flywheel_app:iteration-detail", args=[flywheel.name, it.iteration_id])
    )
    assert page.status_code == 200
    assert 'data-testid="iteration-message"' in page.content.decode()
    assert "Promoted automatically" in page.content.decode()


def test_the_console_sets_the_rule_on_create_and_update(owner, outsider, client):
    client.force_login(owner)
    create_url = reverse("flywheel_app:flywheel-create")
    assert "Promote automatically" in client.get(create_url).content.decode()
    form = create_form(owner, name="auto-new", source="NEW", labels="a\nb")
    answer = client.post(create_url, {**form, "promote_automatically": "on"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    created = Flywheel.objects.get(name="auto-new")
    assert created.promotes and created.promotion_margin == 0.01
    answer = client.post(create_url, create_form(owner, name="by-hand", source="NEW"))
    assert answer.status_code == 302
    assert not Flywheel.objects.get(name="by-hand").promotes

    fw = ready_flywheel(owner)
    url = reverse("flywheel_app:flywheel-update", args=[fw.name])
    page = client.get(url).content.decode()
    assert "Promote automatically" in page and 'name="promotion_margin"' in page
    base = {"data_access_role_arn": fw.data_access_role_arn, "active_model_arn": ""}
    # A margin out of range is refused at its field, and nothing changes.
    answer = client.post(url, {**base, "promote_automatically": "on", "promotion_margin": "5"})
    assert answer.status_code == 200
    assert "must be a number from 0 to 1" in answer.content.decode()
    fw.refresh_from_db()
    assert not fw.promotes
    answer = client.post(
        url,
        {
            **base,
            "promote_automatically": "on",
            "promotion_margin": "0.02",
            "promotion_max_label_drop": "0.1",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    fw.refresh_from_db()
    assert fw.promotes and (fw.promotion_margin, fw.promotion_max_label_drop) == (0.02, 0.1)
    detail = client.get(reverse("flywheel_app:flywheel-detail", args=[fw.name])).content.decode()
    assert "Automatic: F1 score up by at least 0.0200" in detail
    # Unticked: off again.
    assert client.post(url, base).status_code == 302
    fw.refresh_from_db()
    assert not fw.promotes
    # The outsider cannot reach the form.
    client.force_login(outsider)
    assert client.post(url, {**base, "promote_automatically": "on"}).status_code == 404
