"""The one error type services raise; the API renders it as AWS's error shape, the console as text."""


class ServiceError(Exception):
    """A Comprehend-style error: code (the `__type`), a user-facing message and an HTTP status."""

    def __init__(self, code: str, message: str, http_status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status

    def __str__(self) -> str:
        return self.message


def validation_error(message: str) -> ServiceError:
    return ServiceError("ValidationException", message, 400)


def invalid_request(message: str) -> ServiceError:
    return ServiceError("InvalidRequestException", message, 400)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message, 400)


def in_use(message: str) -> ServiceError:
    return ServiceError("ResourceInUseException", message, 400)


def unavailable(message: str) -> ServiceError:
    return ServiceError("ResourceUnavailableException", message, 400)


def job_not_found(message: str) -> ServiceError:
    return ServiceError("JobNotFoundException", message, 400)


def too_many_tags(message: str) -> ServiceError:
    return ServiceError("TooManyTagsException", message, 400)


def too_many_tag_keys(message: str) -> ServiceError:
    return ServiceError("TooManyTagKeysException", message, 400)


def invalid_filter(message: str) -> ServiceError:
    return ServiceError("InvalidFilterException", message, 400)


def unsupported_language(message: str) -> ServiceError:
    return ServiceError("UnsupportedLanguageException", message, 400)
