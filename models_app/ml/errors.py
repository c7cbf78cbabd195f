"""Errors shared by the ML core (classifier and recognizer)."""


class DataError(Exception):
    """A problem with the user's input data; message is shown to the user verbatim."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        super().__init__(message)

    def __str__(self) -> str:
        if self.file and self.line is not None:
            return f"{self.file} line {self.line}: {self.message}"
        if self.file:
            return f"{self.file}: {self.message}"
        if self.line is not None:
            return f"Line {self.line}: {self.message}"
        return self.message

    @property
    def user_message(self) -> str:
        # What the platform layer shows when work fails (it knows no app's exception types).
        return str(self)


class TrainingStopped(Exception):
    """Raised by trainers when should_stop() returns True."""
