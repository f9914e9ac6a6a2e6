"""The LM configuration is checked up front: which key is missing, for which model, is said in one line."""

from __future__ import annotations

import dspy
import pytest

from runwire.actors import RunwireError
from runwire.actors.dspy import LMConfigError, check_lm_config, make_lm


@pytest.mark.parametrize(
    ("model", "variable"),
    [("openai/gpt-4o-mini", "OPENAI_API_KEY"), ("anthropic/claude-sonnet-4-5", "ANTHROPIC_API_KEY")],
)
def test_a_missing_key_names_the_variable_to_set(model: str, variable: str) -> None:
    with pytest.raises(LMConfigError, match=variable) as caught:
        check_lm_config(dspy.LM(model), base_url=None, env={})
    assert isinstance(caught.value, RunwireError) and isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value)
    check_lm_config(dspy.LM(model), base_url=None, env={variable: "k"})  # set: accepted


def test_any_of_a_providers_variables_will_do() -> None:
    lm = dspy.LM("gemini/gemini-2.0-flash")
    with pytest.raises(LMConfigError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        check_lm_config(lm, base_url=None, env={})
    check_lm_config(lm, base_url=None, env={"GOOGLE_API_KEY": "k"})


def test_a_key_passed_or_a_local_server_needs_no_variable() -> None:
    check_lm_config(dspy.LM("openai/gpt-4o-mini", api_key="k"), base_url=None, env={})
    check_lm_config(dspy.LM("openai/local"), base_url="http://127.0.0.1:1/v1", env={})


@pytest.mark.parametrize("bad", ["", "  ", None, 3])
def test_make_lm_refuses_a_non_model(bad: object) -> None:
    with pytest.raises(LMConfigError, match="model string"):
        make_lm(bad)  # type: ignore[arg-type]


def test_make_lm_refuses_a_base_url_that_is_not_http() -> None:
    with pytest.raises(LMConfigError, match="base URL"):
        make_lm("openai/x", "127.0.0.1:8000")
