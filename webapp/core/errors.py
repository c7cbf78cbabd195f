"""The one error type services raise; the API renders it as AWS's error shape, the console as text."""


class ServiceError(Exception):
    """A Comprehend-style error: code (the `__type`), a user-facing message and an HTTP status.

    `field` names the request member the error is about in the API's words (e.g. "VersionName",
    "InputDataConfig.S3Uri"), or None when it is about the request as a whole. The API does not
    render it; console forms map it to their own fields.
    """

    def __init__(
        self, code: str, message: str, http_status: int = 400, *, field: str | None = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.field = field

    def __str__(self) -> str:
        return self.message


def validation_error(message: str, *, field: str | None = None) -> ServiceError:
    return ServiceError("ValidationException", message, 400, field=field)


def invalid_request(message: str, *, field: str | None = None) -> ServiceError:
    return ServiceError("InvalidRequestException", message, 400, field=field)


def not_found(message: str, *, field: str | None = None) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 400, field=field)


def in_use(message: str, *, field: str | None = None) -> ServiceError:
    return ServiceError("ResourceInUseException", message, 400, field=field)


def unavailable(message: str, *, field: str | None = None) -> ServiceError:
    return ServiceError("ResourceUnavailableException", message, 400, field=field)


def job_not_found(message: str, *, field: str | None = None) -> ServiceError:
    return ServiceError("JobNotFoundException", message, 400, field=field)


def too_many_tags(message: str, *, field: str | None = None) -> ServiceError:
    return ServiceError("TooManyTagsException", message, 400, field=field)


def too_many_tag_keys(message: str, *, field: str | None = None) -> ServiceError:
    return ServiceError("TooManyTagKeysException", message, 400, field=field)


def invalid_filter(message: str, *, field: str | None = None) -> ServiceError:
    return ServiceError("InvalidFilterException", message, 400, field=field)


def unsupported_language(message: str, *, field: str | None = None) -> ServiceError:
    return ServiceError("UnsupportedLanguageException", message, 400, field=field)


def kms_key_invalid(message: str, field: str | None = None) -> ServiceError:
    return ServiceError("KmsKeyValidationException", message, 400, field=field)


def access_denied(message: str, *, field: str | None = None) -> ServiceError:
    # AWS's generic code (not in Comprehend's model, so boto3 raises a plain ClientError).
    return ServiceError("AccessDeniedException", message, 400, field=field)
