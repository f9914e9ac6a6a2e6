"""The PostgreSQL server the store tests run against: ``RUNWIRE_TEST_POSTGRES_URL`` (.ci/postgres).

Unset locally: those tests skip and say why. In CI (``CI=1`` or ``HYPOTHESIS_PROFILE=ci``) a
missing server is a failure, so the PostgreSQL half of the suite can never vanish silently.
"""

from __future__ import annotations

import os

import pytest

ENV_URL = "RUNWIRE_TEST_POSTGRES_URL"


def in_ci() -> bool:
    return os.environ.get("CI") == "1" or os.environ.get("HYPOTHESIS_PROFILE") == "ci"


def postgres_url() -> str:
    url = os.environ.get(ENV_URL, "")
    if url:
        return url
    reason = f'{ENV_URL} is unset: start a server with `eval "$(.ci/postgres start)"`'
    if in_ci():
        pytest.fail(f"CI needs PostgreSQL: {reason}")
    pytest.skip(reason)
