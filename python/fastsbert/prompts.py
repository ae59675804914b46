"""Prompts as sentence-transformers applies them, for embedding models and cross-encoders.

A model may save named prompt texts and a default name (``config_sentence_transformers.json``:
``prompts``, ``default_prompt_name``); fastsbert copies them into ``fastsbert.json``. A caller
adds or overrides prompts when loading the model and picks one per call. The rule for the
pick is sentence-transformers': an explicit ``prompt`` (even "") wins, else the prompt named
``prompt_name``, else the default prompt, else none. An embedding model prepends the prompt
to each text; a cross-encoder to the first text of each pair. The files are read by
:func:`fastsbert.st_config.saved_prompts`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping


def merge_prompts(saved: Mapping[str, str], saved_default: str | None,
                  prompts: Mapping[str, str] | None, default_prompt_name: str | None,
                  ) -> tuple[dict[str, str], str | None]:
    """The model's ``saved`` prompts overridden by the caller's ``prompts``, and the default
    name (the caller's, else the saved one), checked against them."""
    if prompts is not None and (not isinstance(prompts, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in prompts.items())):
        raise TypeError("prompts must be a dict of prompt name (str) -> prompt text (str)")
    merged = {**saved, **(prompts or {})}
    if default_prompt_name is None:
        default_prompt_name = saved_default
    if default_prompt_name is not None and default_prompt_name not in merged:
        raise ValueError(f"default_prompt_name {default_prompt_name!r} is not one of the "
                         f"prompts {sorted(merged)}")
    return merged, default_prompt_name


def pick_prompt(prompts: Mapping[str, str], default_prompt_name: str | None,
                prompt: str | None, prompt_name: str | None, *, stacklevel: int = 3) -> str:
    """The prompt a call uses (see the module docstring); "" for none."""
    if prompt is not None:
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
        if prompt_name is not None:
            warnings.warn("both prompt and prompt_name given: prompt_name is ignored",
                          stacklevel=stacklevel + 1)
        return prompt
    if prompt_name is not None:
        if prompt_name not in prompts:
            raise ValueError(f"prompt_name {prompt_name!r} is not one of the model's "
                             f"prompts {sorted(prompts)}")
        return prompts[prompt_name]
    if default_prompt_name is not None:
        return prompts[default_prompt_name]
    return ""
