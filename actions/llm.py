"""The LLM port: the `LLMClient` protocol and an OpenAI-compatible client (`config.LLMConfig`).

Exceptions::

    LLMError            any failed completion (HTTP error, connection, malformed answer)
    └── LLMTimeout      the server did not answer within timeout_s (after retries)

The API key is read from the environment variable named by `LLMConfig.api_key_env` and is never
printed: not in reprs, logs or error messages.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Protocol, runtime_checkable

import openai

from config import LLMConfig

logger = logging.getLogger(__name__)


@runtime_checkable
class LLMClient(Protocol):
    """What actions and the content writer need from a language model."""

    async def complete(
        self, prompt: str, *, system: str | None = None, purpose: str = "content"
    ) -> str:
        """Return the model's answer to `prompt` (``purpose`` is "content", "judge" or "plan")."""
        ...


class LLMError(Exception):
    """A completion failed (HTTP error, connection error, malformed answer)."""


class LLMTimeout(LLMError):
    """The server did not answer in time."""


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError)  # includes APITimeoutError


class OpenAICompatibleClient:
    """An `LLMClient` for any server speaking the OpenAI chat-completions protocol.

    Uses the `openai` package with its own retries off: this class retries (timeouts, connection
    errors, 429, 5xx) with its own backoff, bounds concurrency with a semaphore and turns every
    failure into `LLMError`/`LLMTimeout`.

    Parameters
    ----------
    config:
        The `LLMConfig`.
    api_key:
        Overrides the environment lookup (tests); never shown.
    """

    def __init__(self, config: LLMConfig, *, api_key: str | None = None) -> None:
        self.config = config
        key = api_key if api_key is not None else os.environ.get(config.api_key_env)
        if not key:
            logger.info("no API key in $%s; sending requests without one", config.api_key_env)
            key = "unset"
        self._client = openai.AsyncOpenAI(
            api_key=key,
            base_url=config.base_url,
            timeout=config.timeout_s,
            max_retries=0,
        )
        self._sem = asyncio.Semaphore(config.max_concurrency)
        self.calls = 0
        self.failures = 0

    def __repr__(self) -> str:
        return (
            f"OpenAICompatibleClient(base_url={self.config.base_url!r}, "
            f"model={self.config.model!r}, api_key=<hidden>)"
        )

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def complete(
        self, prompt: str, *, system: str | None = None, purpose: str = "content"
    ) -> str:
        """One chat completion; raises `LLMTimeout` or `LLMError` after the retries."""
        messages: list[dict[str, str]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": prompt})
        temperature = self.config.temperature if purpose == "content" else 0.0
        delay = self.config.retry_backoff_s
        attempt = 0
        self.calls += 1
        while True:
            try:
                async with self._sem:
                    return await self._once(messages, temperature)
            except LLMError:
                self.failures += 1
                raise
            except Exception as e:
                if attempt < self.config.max_retries and _retryable(e):
                    attempt += 1
                    logger.info(
                        "LLM %s request failed (%s); retry %d/%d",
                        purpose,
                        type(e).__name__,
                        attempt,
                        self.config.max_retries,
                    )
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                self.failures += 1
                raise self._wrap(e, purpose) from None

    async def _once(self, messages: list[dict[str, str]], temperature: float) -> str:
        resp = await self._client.chat.completions.create(
            model=self.config.model,
            messages=messages,  # type: ignore[arg-type]
            temperature=temperature,
        )
        try:
            content = resp.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            raise LLMError(
                f"LLM request to {self.config.base_url} failed: malformed response "
                "(no choices[0].message)"
            ) from None
        if content is not None and not isinstance(content, str):
            raise LLMError(
                f"LLM request to {self.config.base_url} failed: malformed response "
                "(content is not a string)"
            )
        return (content or "")[: self.config.max_chars]

    def _wrap(self, exc: Exception, purpose: str) -> LLMError:
        # Our own message, no cause chained: nothing of the request (headers) can leak.
        where = self.config.base_url
        if isinstance(exc, openai.APITimeoutError):
            return LLMTimeout(
                f"LLM {purpose} request to {where} timed out after {self.config.timeout_s}s"
            )
        if isinstance(exc, openai.APIStatusError):
            return LLMError(f"LLM {purpose} request to {where} failed: HTTP {exc.status_code}")
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"LLM {purpose} request to {where} failed: cannot connect")
        return LLMError(
            f"LLM {purpose} request to {where} failed: malformed response ({type(exc).__name__})"
        )
