"""The web service that the stack deploys. Run it with `python -m app`."""
