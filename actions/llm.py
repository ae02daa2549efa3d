"""The LLM port: the `LLMClient` protocol and an OpenAI-compatible client (`config.LLMConfig`).

Exceptions::

    LLMError            any failed completion (HTTP error, connection, malformed answer)
    └── LLMTimeout      the server did not answer within timeout_s (after retries)

A client may also offer `MeteredLLMClient.request()`: the answer with what the server said it
cost (``usage``) and how many retries it took. `actions.observer.ask_llm` uses it to report each
request; with a plain `LLMClient` it estimates the tokens instead.

The API key is read from the environment variable named by `LLMConfig.api_key_env` and is never
printed: not in reprs, logs or error messages.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Protocol, runtime_checkable

import msgspec
import openai

from actions.reasoning import final_answer
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


@runtime_checkable
class MeteredLLMClient(LLMClient, Protocol):
    """An `LLMClient` that also tells what a request cost (`OpenAICompatibleClient` does)."""

    async def request(
        self, prompt: str, *, system: str | None = None, purpose: str = "content"
    ) -> Completion:
        """`complete()`, with the server's token counts and the retries it took."""
        ...


class Completion(msgspec.Struct, frozen=True):
    """One answer of the model and what it cost.

    ``prompt_tokens`` and ``completion_tokens`` are what the server reported (its ``usage``), or
    None when it reported nothing; ``retries`` is how many times the request was sent again.
    """

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    retries: int = 0


class LLMError(Exception):
    """A completion failed (HTTP error, connection error, malformed answer).

    ``retries``: how many times the request had been sent again before it failed for good.
    """

    retries: int = 0


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
        return (await self.request(prompt, system=system, purpose=purpose)).text

    async def request(
        self, prompt: str, *, system: str | None = None, purpose: str = "content"
    ) -> Completion:
        """`complete()` with the server's token counts (``usage``) and the retries it took.

        Raises `LLMTimeout` or `LLMError` (its ``retries`` set) after the retries."""
        messages: list[dict[str, str]] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": prompt})
        temperature = self.config.temperature if purpose == "content" else 0.0
        delay = self.config.retry_backoff_s
        attempt = 0
        while True:
            try:
                async with self._sem:
                    answer = await self._once(messages, temperature)
                return msgspec.structs.replace(answer, retries=attempt)
            except LLMError as e:
                e.retries = attempt
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
                error = self._wrap(e, purpose)
                error.retries = attempt
                raise error from None

    async def _once(self, messages: list[dict[str, str]], temperature: float) -> Completion:
        resp = await self._client.chat.completions.create(
            model=self.config.model,
            messages=messages,  # type: ignore[arg-type]
            temperature=temperature,
            max_tokens=self.config.max_tokens,  # what a token budget reserves for the answer
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
        # `usage` is optional (many local servers omit it), and the JSON is parsed leniently: read
        # each count defensively, and report none rather than a wrong one
        usage = resp.usage
        # The reasoning of a thinking model goes before the cut, so it cannot push the answer out;
        # a `reasoning_content` field beside `content` is never read.
        return Completion(
            final_answer(content or "")[: self.config.max_chars],
            _count(getattr(usage, "prompt_tokens", None)),
            _count(getattr(usage, "completion_tokens", None)),
        )

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


def _count(value: object) -> int | None:
    """A token count from the server's ``usage``, or None when it is missing or nonsense."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
