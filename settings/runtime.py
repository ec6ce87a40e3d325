"""Read the whole configuration map the Pulumi engine hands the program."""

from typing import Any

from pulumi.runtime import config as runtime_config


def read_pulumi_config() -> dict[str, Any]:
    """Every configured key (`aws:region`, `webstack:service`, ...) with its raw value.

    `pulumi.Config` reads one key at a time; the whole map is needed to reject keys that no
    setting reads. The engine passes the map in PULUMI_CONFIG or sets it directly; values set
    directly win, as in `pulumi.runtime.get_config`. Secret values stay in the map but the
    settings module only checks whether a secret key is present.
    """
    merged: dict[str, Any] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged
