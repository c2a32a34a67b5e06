"""What a person asked for cannot be done: the refusals every app raises and every view, the
API's error handler included, turns into an answer. No imports, so any app may use them."""


class Refused(Exception):
    """What a person asked for cannot be done; ``messages`` say why, in their words."""

    @property
    def messages(self) -> list[str]:
        return [str(self)]


class Invalid(Refused):
    """Input that cannot be accepted; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(errors)

    @property
    def messages(self) -> list[str]:
        return [message for problems in self.errors.values() for message in problems]


class NotAllowed(Refused):
    """The action does not fit the current state (the API answers 409)."""
