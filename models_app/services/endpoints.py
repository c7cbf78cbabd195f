"""Real-time endpoints: create, update, delete, their status machine, and the calls they serve."""

from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from models_app import kinds, selectors
from models_app.models import Endpoint, ModelVersion
from models_app.models import EndpointStatus as S
from models_app.services import serving
from webapp.accounts.models import EncryptionKey
from webapp.accounts.services.tags import tags_delete_all, tags_set
from webapp.core import arns, background, ratelimit, resources
from webapp.core.errors import ServiceError, in_use, invalid_request, unavailable, validation_error
from webapp.core.expiring import ExpiringMap
from webapp.core.validation import check_client_token, check_name, check_tags

MAX_TEXT_BYTES = 10_000  # Comprehend's limit for ClassifyDocument and custom DetectEntities

# IN_SERVICE routes are reused for ENDPOINT_ROUTE_CACHE_SECONDS by each process, so a real-time
# call needs no query. Any status change made in this process clears them at once; one made in
# another process reaches this one within that time (an update keeps the old model serving
# meanwhile, so no call fails).
_routes = ExpiringMap()

# Flywheels (a later app) tell which version a flywheel's endpoint serves: fn(account, arn).
_flywheel_active_version: Callable | None = None


def register_flywheel_resolver(resolver: Callable) -> None:
    """Let the flywheel app say which model version a flywheel currently serves."""
    global _flywheel_active_version
    _flywheel_active_version = resolver


# Apps that keep versions in use (a flywheel's active version) refuse their deletion:
# fn(version) raising ResourceInUseException.
_version_in_use_checks: list[Callable] = []


def register_version_in_use_check(check: Callable) -> None:
    """Let another app refuse the deletion of a version it uses."""
    if check not in _version_in_use_checks:
        _version_in_use_checks.append(check)


def endpoint_transition(pk: int, to: str, **fields) -> bool:
    """Move an endpoint to `to` if its status allows it; False if someone else won."""
    fields.setdefault("updated_at", timezone.now())
    changed = background.transition(Endpoint, pk, to=to, allowed_from=S.ALLOWED_FROM[to], **fields)
    _routes.clear()
    return changed


def endpoint_fail_dead(pk: int, reason: str) -> None:
    """Work on an endpoint died: a new endpoint fails; an update falls back to the old model."""
    endpoint = Endpoint.objects.filter(pk=pk).first()
    if endpoint is None:
        return
    if endpoint.status == S.UPDATING and endpoint.version_id is not None:
        endpoint_transition(
            pk,
            S.IN_SERVICE,
            message=f"The update failed and the endpoint still serves its previous model: {reason}",
            desired_version_id=endpoint.version_id,
            desired_units=endpoint.current_units or endpoint.desired_units,
            desired_data_access_role_arn=endpoint.data_access_role_arn,
        )
    else:
        endpoint_transition(pk, S.FAILED, message=reason)


# Checks shared by create and update.


def version_to_serve(account, model_arn: str, *, field: str, principal=None) -> ModelVersion:
    """A trained version named by a model ARN, through the versions' access gate."""
    version = selectors.version_for(account, model_arn, principal=principal, field=field)
    if not version.is_usable:
        raise unavailable(
            f"The {kinds.get(version.model.kind).noun} {model_arn} is {version.status}; only a "
            "trained version can be served.",
            field=field,
        )
    return version


def flywheel_version_to_serve(account, flywheel_arn: str, *, field: str) -> ModelVersion:
    """The version a flywheel of the account currently serves."""
    resources.resolve_any(account, flywheel_arn, field=field)
    version = _flywheel_active_version(account, flywheel_arn) if _flywheel_active_version else None
    if version is None:
        raise unavailable(
            f"The flywheel {flywheel_arn} has no active model version to serve.", field=field
        )
    return version


def _units(value, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise validation_error(f"{field} must be a whole number of at least 1.", field=field)
    most = settings.INFERENCE_MAX_UNITS_PER_ENDPOINT
    if most and value > most:
        raise ServiceError(
            "ResourceLimitExceededException",
            f"An endpoint can have at most {most} inference units; {value} were asked for.",
            400,
            field=field,
        )
    return value


def endpoint_create(
    *,
    account,
    name,
    model_arn=None,
    flywheel_arn=None,
    desired_units,
    data_access_role_arn=None,
    tags=None,
    client_request_token=None,
    principal=None,
) -> Endpoint:
    """CreateEndpoint: record it CREATING and load its model in a worker before IN_SERVICE."""
    name = check_name(name, field="EndpointName", max_length=40)
    units = _units(desired_units, "DesiredInferenceUnits")
    role = arns.parse_role(data_access_role_arn) if data_access_role_arn else ""
    pairs = check_tags(tags)
    token = check_client_token(client_request_token)
    if bool(model_arn) == bool(flywheel_arn):
        raise invalid_request(
            "Give either ModelArn or FlywheelArn (one of them, not both).", field="ModelArn"
        )
    if _names_flywheel(model_arn):
        # Comprehend's flywheel walkthrough passes the flywheel's ARN as --model-arn.
        model_arn, flywheel_arn = None, model_arn
    if token:
        # A retried request (botocore reuses the token) gets the endpoint it already made.
        existing = selectors.endpoints(account).filter(client_request_token=token).first()
        if existing is not None:
            if existing.name != name:
                raise validation_error(
                    "ClientRequestToken was already used for another endpoint.",
                    field="ClientRequestToken",
                )
            return existing
    if model_arn:
        version = version_to_serve(account, model_arn, field="ModelArn", principal=principal)
    else:
        version = flywheel_version_to_serve(account, flywheel_arn, field="FlywheelArn")
    if selectors.endpoints(account).filter(name=name).exists():
        raise in_use(f"An endpoint named {name} already exists.", field="EndpointName")
    job_id = background.new_job_id()
    try:
        with transaction.atomic():
            endpoint = Endpoint.objects.create(
                account=account,
                kind=version.model.kind,
                name=name,
                status=S.CREATING,
                desired_version=version,
                flywheel_arn=flywheel_arn or "",
                desired_units=units,
                data_access_role_arn=role,
                desired_data_access_role_arn=role,
                client_request_token=token or "",
                rq_job_id=job_id,
                progress_step="Waiting for a worker to load the model",
            )
            if pairs:
                tags_set(account=account, resource_arn=endpoint.arn, tags=pairs)
            background.enqueue(
                "inference", "models_app.jobs.endpoint_deploy_job", endpoint.pk, job_id=job_id
            )
    except IntegrityError:
        raise in_use(f"An endpoint named {name} already exists.", field="EndpointName") from None
    return endpoint


def _names_flywheel(model_arn) -> bool:
    if not isinstance(model_arn, str):
        return False
    try:
        return arns.parse(model_arn, field="ModelArn").resource_type == "flywheel"
    except ServiceError:
        return False


def endpoint_describe(*, account, arn: str) -> Endpoint:
    return selectors.endpoint_for(account, arn)


def endpoint_update(
    *,
    account,
    arn: str,
    desired_model_arn=None,
    desired_units=None,
    desired_data_access_role_arn=None,
    flywheel_arn=None,
    principal=None,
) -> Endpoint:
    """UpdateEndpoint: UPDATING while a worker loads the new model; calls keep the old one."""
    endpoint = selectors.endpoint_for(account, arn)
    if not any((desired_model_arn, desired_units, desired_data_access_role_arn)) and (
        not flywheel_arn
    ):
        raise invalid_request(
            "Give DesiredModelArn, DesiredInferenceUnits, DesiredDataAccessRoleArn or FlywheelArn."
        )
    if desired_model_arn and flywheel_arn:
        raise invalid_request(
            "Give DesiredModelArn or FlywheelArn, not both.", field="DesiredModelArn"
        )
    fields = {"message": ""}
    if desired_model_arn:
        version = version_to_serve(
            account, desired_model_arn, field="DesiredModelArn", principal=principal
        )
        fields.update(desired_version=version, flywheel_arn="")
    elif flywheel_arn:
        version = flywheel_version_to_serve(account, flywheel_arn, field="FlywheelArn")
        fields.update(desired_version=version, flywheel_arn=flywheel_arn)
    else:
        version = endpoint.version or endpoint.desired_version
        fields["desired_version"] = version
    if version.model.kind != endpoint.kind:
        raise invalid_request(
            f"The endpoint {arn} serves a {kinds.get(endpoint.kind).noun}; "
            f"{version.arn} is a {kinds.get(version.model.kind).noun}.",
            field="FlywheelArn" if flywheel_arn else "DesiredModelArn",
        )
    if desired_units is not None:
        fields["desired_units"] = _units(desired_units, "DesiredInferenceUnits")
    if desired_data_access_role_arn:
        fields["desired_data_access_role_arn"] = arns.parse_role(
            desired_data_access_role_arn, field="DesiredDataAccessRoleArn"
        )
    job_id = background.new_job_id()
    with transaction.atomic():
        if not endpoint_transition(
            endpoint.pk,
            S.UPDATING,
            rq_job_id=job_id,
            heartbeat_at=None,
            progress=0.0,
            progress_step="Waiting for a worker to load the model",
            **fields,
        ):
            endpoint.refresh_from_db()
            raise in_use(
                f"The endpoint {arn} is {endpoint.status}; it can be updated when it is "
                "IN_SERVICE (or FAILED)."
            )
        background.enqueue(
            "inference", "models_app.jobs.endpoint_deploy_job", endpoint.pk, job_id=job_id
        )
    return selectors.endpoints(account).get(pk=endpoint.pk)


def endpoint_follow_flywheel(*, account, flywheel_arn: str) -> list[Endpoint]:
    """Move every endpoint that follows a flywheel to the version the flywheel now serves.

    Called in the transaction that changes the flywheel's active version. An endpoint in service
    goes UPDATING and answers with its model until the deploy job has loaded the new one; one
    whose deploy is under way loads the new version instead when its job gets to it.
    """
    version = flywheel_version_to_serve(account, flywheel_arn, field="FlywheelArn")
    moved = []
    following = (
        Endpoint.objects.select_for_update()
        .filter(account=account, flywheel_arn=flywheel_arn)
        .exclude(status=S.DELETING)
        .order_by("pk")
    )
    for endpoint in following:
        if endpoint.status in S.ACTIVE:
            if endpoint.desired_version_id != version.pk:
                Endpoint.objects.filter(pk=endpoint.pk).update(
                    desired_version=version, updated_at=timezone.now()
                )
                moved.append(endpoint)
            continue
        if endpoint.version_id == version.pk and endpoint.status == S.IN_SERVICE:
            continue
        job_id = background.new_job_id()
        if endpoint_transition(
            endpoint.pk,
            S.UPDATING,
            desired_version=version,
            message="",
            rq_job_id=job_id,
            heartbeat_at=None,
            progress=0.0,
            progress_step="Waiting for a worker to load the model",
        ):
            background.enqueue(
                "inference", "models_app.jobs.endpoint_deploy_job", endpoint.pk, job_id=job_id
            )
            moved.append(endpoint)
    return moved


def endpoint_delete(*, account, arn: str) -> None:
    """DeleteEndpoint: the endpoint and its tags go at once; calls to it stop being served."""
    endpoint = selectors.endpoint_for(account, arn)
    with transaction.atomic():
        if not endpoint_transition(endpoint.pk, S.DELETING):
            raise in_use(f"The endpoint {arn} is already being deleted.")
        tags_delete_all(account=account, resource_arn=endpoint.arn)
        Endpoint.objects.filter(pk=endpoint.pk).delete()


def endpoint_deploy(*, endpoint_id: int) -> None:
    """Worker side of create and update: load the desired model, then put it in service."""
    with background.tracking(Endpoint, endpoint_id):
        endpoint = (
            Endpoint.objects.select_related("desired_version__model", "desired_version__account")
            .filter(pk=endpoint_id)
            .first()
        )
        while endpoint is not None and endpoint.status in S.ACTIVE:
            background.report_progress(Endpoint, endpoint_id, 0.3, "Loading the model")
            serving.check(endpoint.desired_version)
            with transaction.atomic():
                # A flywheel's endpoint may have been given a newer version while this one
                # loaded: the row lock orders this check against that change.
                now = (
                    Endpoint.objects.select_for_update(of=("self",))
                    .select_related("desired_version__model", "desired_version__account")
                    .filter(pk=endpoint_id)
                    .first()
                )
                if now is None or now.desired_version_id == endpoint.desired_version_id:
                    endpoint_transition(
                        endpoint_id,
                        S.IN_SERVICE,
                        version_id=endpoint.desired_version_id,
                        current_units=endpoint.desired_units,
                        data_access_role_arn=endpoint.desired_data_access_role_arn,
                        progress=1.0,
                        progress_step="In service",
                    )
                    return
            endpoint = now


def version_in_use_check(version: ModelVersion) -> None:
    """Refuse deleting a version an endpoint serves (or is moving to), a running job uses, or
    another app keeps in use (a flywheel's active version)."""
    for check in _version_in_use_checks:
        check(version)
    endpoint = selectors.endpoints_using(version).first()
    if endpoint is not None:
        raise in_use(
            f"The model {version.arn} is used by the endpoint {endpoint.arn}; delete that "
            f"endpoint or update it to another model first."
        )
    job = selectors.active_jobs_using(version).first()
    if job is not None:
        raise in_use(
            f"The model {version.arn} is used by the analysis job {job.job_id}, which is "
            f"{job.status}; wait for it to finish or stop it first."
        )


# Serving calls.


def _check_text(text, *, bytes_given=False, reader_config=False) -> str:
    if bytes_given or reader_config:
        raise invalid_request(
            "Textwheel analyses plain text only: send Text, without Bytes or DocumentReaderConfig."
        )
    if not isinstance(text, str) or not text:
        raise invalid_request("Text is required.", field="Text")
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise ServiceError(
            "TextSizeLimitExceededException",
            f"Input text size exceeds limit. Max length of request text allowed is "
            f"{MAX_TEXT_BYTES} bytes while in this request the text size is {size} bytes",
            400,
            field="Text",
        )
    return text


def _route(account, endpoint_arn: str, kind: str) -> tuple[dict, serving.ServedModel]:
    """The endpoint a call names and the loaded model that answers it.

    The route is reused for ENDPOINT_ROUTE_CACHE_SECONDS and the model comes from this process's
    cache. An endpoint that follows a flywheel serves the version its row names, like any other:
    a new active version reaches it through an update (endpoint_follow_flywheel).
    """
    route = _endpoint_route(account, endpoint_arn, kind)
    arn = route["arn"]
    if route["status"] not in S.SERVING:
        raise unavailable(f"The endpoint {arn} is {route['status']}; it answers when IN_SERVICE.")
    version_id, sha256 = route["version_id"], route["version__artifact_sha256"]
    if version_id is None:
        raise unavailable(f"The endpoint {arn} has no model in service.")
    if route["version__model_key__enabled"] is False:
        key = EncryptionKey(account=account, key_id=route["version__model_key__key_id"])
        raise serving.key_disabled(key.arn)
    served = serving.cached(version_id, sha256)
    if served is None:
        served = serving.get(selectors.version_for_serving(version_id))
    desired_id = route["desired_version_id"]
    if route["status"] == S.UPDATING and desired_id and desired_id != version_id:
        # Load the new model meanwhile, so the first call after the switch finds it ready.
        serving.prefetch(desired_id, route["desired_version__artifact_sha256"])
    return route, served


def _endpoint_route(account, endpoint_arn: str, kind: str) -> dict:
    key = (account.pk, endpoint_arn, kind)
    route = _routes.get(key)
    if route is None:
        route = selectors.endpoint_route(account, endpoint_arn, kind=kind)
        if route["status"] == S.IN_SERVICE:
            _routes.put(key, route, settings.ENDPOINT_ROUTE_CACHE_SECONDS)
    return route


def _throttle(route: dict, text: str) -> None:
    per_unit = settings.INFERENCE_CHARS_PER_SECOND_PER_UNIT
    if not per_unit:
        return
    units = route["current_units"] or route["desired_units"]
    rate = per_unit * units
    if not ratelimit.take(f"endpoint:{route['pk']}", len(text), rate=rate):
        raise ServiceError(
            "TooManyRequestsException",
            f"The endpoint {route['arn']} has {units} inference unit(s), about "
            f"{rate:,.0f} characters per second; slow down or update it to more units.",
            400,
        )


def classify_document(
    *, account, endpoint_arn: str, text, bytes_given=False, reader_config=False
) -> dict:
    """ClassifyDocument on a classifier endpoint: Classes or Labels, by score."""
    text = _check_text(text, bytes_given=bytes_given, reader_config=reader_config)
    route, served = _route(account, endpoint_arn, kinds.CLASSIFIER.kind)
    _throttle(route, text)
    return served.analyse_one(text)


def detect_entities(
    *, account, endpoint_arn, text, bytes_given=False, reader_config=False
) -> list[dict]:
    """DetectEntities on a custom recognizer endpoint (the built-in model is not served)."""
    if not endpoint_arn:
        raise invalid_request(
            "Textwheel serves only custom entity recognizers: give the EndpointArn of an entity "
            "recognizer endpoint (Comprehend's built-in entity model is not available here)."
        )
    text = _check_text(text, bytes_given=bytes_given, reader_config=reader_config)
    route, served = _route(account, endpoint_arn, kinds.RECOGNIZER.kind)
    _throttle(route, text)
    return served.analyse_one(text)
