"""Hypothesis profiles for the property suite: reproducible, and nothing written to disk.

``ci`` (the default) is derandomized: the same examples on every run and
machine, so a failure in CI fails the same way on a laptop. ``explore``
(``HYPOTHESIS_PROFILE=explore``) draws fresh random examples, more of them,
for a developer hunting new bugs. Neither keeps an example database: tests
write nothing into the checkout (no ``.hypothesis/`` folder). Hypothesis
also caches the constants it finds in our source under its home directory,
database or not, so that home is a temporary directory, removed at exit.
"""

from __future__ import annotations

import os
import tempfile

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

_HOME = tempfile.TemporaryDirectory(prefix="agentkit-hypothesis-")
set_hypothesis_home_dir(_HOME.name)

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "explore",
    derandomize=False,
    database=None,
    deadline=None,
    max_examples=500,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
