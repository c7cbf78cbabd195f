"""AWS Signature Version 4 verification: botocore's own signer recomputes what the client signed."""

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.conf import settings

from webapp.accounts.services.access_keys import access_key_for_signature
from webapp.core.errors import ServiceError

SERVICE = "comprehend"
MAX_SKEW = timedelta(minutes=15)
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9;-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


def _error(code: str, message: str, status: int) -> ServiceError:
    return ServiceError(code, message, status)


def verify(request, body: bytes):
    """Return the AccessKey that signed this Django request, or raise the code AWS would give."""
    header = request.headers.get("Authorization")
    if not header:
        raise _error("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
    match = _AUTH_RE.match(header.strip())
    if not match:
        raise _error(
            "IncompleteSignatureException",
            "Authorization header requires Credential, SignedHeaders and Signature "
            "with the AWS4-HMAC-SHA256 algorithm.",
            403,
        )
    found = access_key_for_signature(match["key"])
    if found is None:
        raise _error(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            403,
        )
    key, secret = found
    if match["service"] != SERVICE or match["region"] != settings.AWS_REGION:
        expected = f"{settings.AWS_REGION}/{SERVICE}/aws4_request"
        raise _error(
            "InvalidSignatureException",
            f"Credential should be scoped to '{expected}', not "
            f"'{match['region']}/{match['service']}/aws4_request'.",
            403,
        )

    signed_names = match["headers"].split(";")
    _require_signed(request, signed_names)
    amz_date = _signed_at(request, match["date"])
    _check_payload(request, body)

    headers = {}
    for name in signed_names:
        value = request.headers.get(name)
        if value is None:
            raise _error(
                "InvalidSignatureException",
                f"The signed header '{name}' is missing from the request.",
                403,
            )
        headers[name] = value
    query = request.META.get("QUERY_STRING", "")
    url = f"http://{headers['host']}{request.path}"
    if query:
        url += f"?{query}"
    aws_request = AWSRequest(method=request.method, url=url, headers=headers, data=body)
    aws_request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(key.key_id, secret), SERVICE, match["region"])
    canonical = signer.canonical_request(aws_request)
    expected = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
    if not hmac.compare_digest(expected, match["signature"]):
        raise _error(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
            403,
        )
    return key


def _require_signed(request, signed_names: list[str]) -> None:
    """Host, the date and every x-amz-* header sent must be signed, as AWS requires.

    Otherwise a captured request could be replayed with an added or changed X-Amz-Target (the
    operation) or X-Amz-Content-SHA256 that the signature never covered.
    """
    signed = set(signed_names)
    missing = [name for name in ("host",) if name not in signed]
    if "x-amz-date" not in signed and "date" not in signed:
        missing.append("x-amz-date")
    missing += sorted(
        name.lower()
        for name in request.headers
        if name.lower().startswith("x-amz-") and name.lower() not in signed
    )
    if missing:
        raise _error(
            "InvalidSignatureException",
            f"The request signature must cover the header(s) {', '.join(dict.fromkeys(missing))} "
            "(list them in SignedHeaders).",
            403,
        )


def _signed_at(request, scope_date: str) -> str:
    """The signing time from X-Amz-Date (or a signed Date header), within 15 minutes of now."""
    amz_date = request.headers.get("X-Amz-Date")
    try:
        if amz_date is not None:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        else:
            signed_at = parsedate_to_datetime(request.headers.get("Date", "")).astimezone(UTC)
            amz_date = f"{signed_at:%Y%m%dT%H%M%SZ}"
    except (TypeError, ValueError, IndexError):
        raise _error(
            "InvalidSignatureException", "The request must carry a valid X-Amz-Date header.", 403
        ) from None
    now = datetime.now(UTC)
    if abs(now - signed_at) > MAX_SKEW:
        raise _error(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than "
            f"{(now - MAX_SKEW):%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} - 15 min.)"
            if signed_at < now
            else f"Signature not yet current: {amz_date} is still later than "
            f"{(now + MAX_SKEW):%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} + 15 min.)",
            403,
        )
    if scope_date != amz_date[:8]:
        raise _error("InvalidSignatureException", "Credential date does not match X-Amz-Date.", 403)
    return amz_date


def _check_payload(request, body: bytes) -> None:
    """The signature binds the body received: a payload hash header must be its real hash.

    botocore's signer (like AWS) signs whatever X-Amz-Content-SHA256 claims, so trusting the
    header would let a captured request be replayed with any body; UNSIGNED-PAYLOAD is refused.
    """
    claimed = request.headers.get("X-Amz-Content-SHA256")
    if claimed is not None and not hmac.compare_digest(
        claimed.encode("ascii", "replace"), hashlib.sha256(body).hexdigest().encode()
    ):
        raise _error(
            "InvalidSignatureException",
            "The X-Amz-Content-SHA256 header does not match the SHA-256 of the request body "
            "(UNSIGNED-PAYLOAD is not accepted).",
            403,
        )
