"""The error every component raises for an invalid argument."""


class ComponentInputError(ValueError):
    """An invalid plain argument, found before the component declares any child.

    The message names the component, the argument, the value received, what is allowed
    and how to fix it, so the stack's settings layer can show it unchanged.
    """

    def __init__(self, component: str, argument: str, value: object, allowed: str) -> None:
        self.component = component
        self.argument = argument
        self.value = value
        self.allowed = allowed
        super().__init__(f"{component}: invalid {argument}={value!r}; {allowed}")
