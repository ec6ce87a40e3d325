"""Entry point the Pulumi CLI runs for `pulumi preview --policy-pack policy`.

Constructing the PolicyPack starts the analyzer's gRPC server and blocks until the engine
stops it, so nothing may import this module; tests import `policy.pack` instead.
"""

import sys
from pathlib import Path

# The CLI runs this file from the pack directory; the rules import as `policy.*` from the
# repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.pack import PACK_NAME, build_policies

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(),
)
