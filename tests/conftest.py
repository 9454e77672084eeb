"""Test-session configuration shared by every tier."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Example counts are sized for a 2-core CI machine; `--hypothesis-profile=thorough`
# runs the same properties harder locally.
settings.register_profile(
    "default",
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile("default")
