"""Check an LM configuration before any work starts: a known model, and its key in the environment.

Why here and not at the first call: without it, a missing key shows up after the scan, as a
multi-line provider error telling a CLI user to "pass api_key= on dspy.LM". DSPy resolves a model
string to a provider and the environment variable it reads without any I/O (its backend
selection); only models it does not know natively are looked up in litellm, which DSPy would
load for them anyway.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

from runwire.actors import RunwireError

__all__ = ["LMConfigError", "check_lm_config"]

LOCAL_KEY = "local"  # what a local OpenAI-compatible server gets when no key is set: most ignore it


class LMConfigError(RunwireError, ValueError):
    """The LM cannot be used as configured (unknown model, no key); the message says what to set."""


def _key_names(env_key: str) -> tuple[str, ...]:
    """Every variable the provider of ``env_key`` reads (e.g. GEMINI_API_KEY or GOOGLE_API_KEY)."""
    try:  # DSPy's vendored engine lists them; by name, so that a type checker does not follow it
        access = importlib.import_module("dspy._vendor.lm15.access")
    except ImportError:
        return (env_key,)
    for policy in vars(access).values():
        names = getattr(policy, "env_keys", None)
        if isinstance(names, tuple) and env_key in names:
            return tuple(str(name) for name in names)
    return (env_key,)


def _missing(names: tuple[str, ...], env: Mapping[str, str]) -> bool:
    return bool(names) and not any(env.get(name) for name in names)


def _key_error(model: str, names: tuple[str, ...]) -> LMConfigError:
    wanted = " or ".join(names)
    return LMConfigError(
        f"no API key for {model}: set {wanted} in the environment (or --lm-base-url URL for a local server)"
    )


def check_lm_config(lm: Any, *, base_url: str | None, env: Mapping[str, str] | None = None) -> None:
    """Raise :class:`LMConfigError` if ``lm`` (a ``dspy.LM``) names no known model or lacks its key."""
    from dspy.clients.backend_selection import select_backend  # type: ignore[import-untyped]

    env = os.environ if env is None else env
    model = str(lm.model)
    keyed = bool(lm.kwargs.get("api_key"))
    try:
        resolution = select_backend(lm).resolution
    except Exception as exc:  # DSPy refused the model string itself
        raise LMConfigError(f"unknown model {model!r}: {str(exc).splitlines()[0]}") from None
    if resolution is not None:
        env_key = getattr(resolution, "env_key", None)
        placeholder = getattr(resolution, "placeholder_key", None)
        if env_key and not placeholder and not keyed and base_url is None and _missing(_key_names(env_key), env):
            raise _key_error(model, _key_names(env_key))
        return
    import litellm  # DSPy uses it for every model its native engine does not know

    litellm.suppress_debug_info = True  # it would print a provider list on stdout (the --json stream)
    try:
        provider = litellm.get_llm_provider(model)[1]
    except Exception:
        raise LMConfigError(
            f"unknown model {model!r}: name it as provider/model, e.g. openai/gpt-4o-mini or anthropic/claude-3-5-haiku"
        ) from None
    if keyed or base_url is not None:
        return
    missing = tuple(str(name) for name in litellm.validate_environment(model).get("missing_keys") or ())
    if missing and all(not env.get(name) for name in missing):
        raise _key_error(f"{model} ({provider})", missing)
