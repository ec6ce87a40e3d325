"""Type tokens shared by every component, so the scheme lives in one place.

A token is part of each child's URN: renaming one replaces every resource under it, so a
rename must come with `pulumi.Alias(type_=<old token>)` on the component.
"""

PACKAGE = "webstack"


def type_token(module: str, component: str) -> str:
    """Return the Pulumi type token `webstack:<module>:<Component>`."""
    return f"{PACKAGE}:{module}:{component}"
