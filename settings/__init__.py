"""Stack settings: the one place where stack file values become validated objects."""

from settings.load import SECRET_KEYS, load, resolve_commit_sha, stack_file_name
from settings.model import StackSettings
from settings.reader import SettingsError

__all__ = [
    "SECRET_KEYS",
    "SettingsError",
    "StackSettings",
    "load",
    "resolve_commit_sha",
    "stack_file_name",
]
