"""Bootstrap program: run once per AWS account (see docs/pipeline.md, "One-time bootstrap")."""

import sys
from pathlib import Path

import pulumi

# Pulumi runs this file with bootstrap/ as the working directory; the repository root on
# sys.path makes `bootstrap` importable as a package, as the tests import it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bootstrap.settings import BootstrapConfigError, read_pulumi_config
from bootstrap.stack import declare

try:
    settings = read_pulumi_config()
except BootstrapConfigError as error:
    raise pulumi.RunError(str(error)) from None

for name, value in declare(settings).items():
    pulumi.export(name, value)
