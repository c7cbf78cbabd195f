"""AWS Signature Version 4 verification: botocore's own signer recomputes what the client signed."""

import hmac
import re
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from webapp.accounts.services.access_keys import access_key_for_signature
from webapp.errors import ServiceError

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
    if match["service"] != SERVICE:
        raise _error(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{SERVICE}'.",
            403,
        )

    amz_date = request.headers.get("X-Amz-Date", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
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
    if match["date"] != amz_date[:8]:
        raise _error("InvalidSignatureException", "Credential date does not match X-Amz-Date.", 403)

    signed_names = match["headers"].split(";")
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
    url = f"http://{headers.get('host', request.get_host())}{request.path}"
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
