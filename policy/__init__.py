"""Guardrails for the webstack program: rules shared by the policy pack and the offline check.

The rule modules under `policy.rules` are pure functions and never construct a `PolicyPack`
(constructing one starts the analyzer's gRPC server and blocks). Only `policy/__main__.py`
constructs the pack, when the Pulumi CLI runs it with `--policy-pack policy`.
"""
