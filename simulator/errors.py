"""Exceptions raised by the engine. Every message is meant to be shown to a user as is."""


class SimulatorError(ValueError):
    """Base class: bad input that the engine rejected without changing anything."""


class ConfigError(SimulatorError):
    """A model configuration is inconsistent or out of range."""


class ParamError(SimulatorError):
    """A parameter name, shape or value was rejected."""


class TextError(SimulatorError):
    """The text or token ids cannot be run through the model (empty, too long, bad ids)."""


class ModelFileError(SimulatorError):
    """A model, checkpoint or session file is missing, corrupt or does not match."""


class UnknownStageError(SimulatorError, KeyError):
    """A stage id that the current model does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def json_kind(value: object) -> str:
    """The JSON name of a value's type ("a list", "text", ...), for messages about wrong types."""
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
