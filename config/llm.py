"""`LLMConfig`: the OpenAI-compatible client's settings (the `[llm]` table)."""

from __future__ import annotations

import msgspec


class LLMConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of the OpenAI-compatible client (embedded in the app's TOML config).

    Parameters
    ----------
    base_url:
        The server's API root, e.g. ``http://localhost:11434/v1``.
    model:
        The model name sent with each request.
    api_key_env:
        Name of the environment variable holding the API key (the key itself is never configured).
    timeout_s:
        Per-request timeout.
    max_retries:
        Retries after a timeout, connection error, HTTP 429 or 5xx.
    retry_backoff_s:
        First retry delay; doubled for each further retry.
    max_concurrency:
        Requests in flight at once per client.
    temperature:
        Sampling temperature for content (the judge and planner use 0).
    max_chars:
        Longer answers are cut (Discord allows 2000 characters).
    action_budget_s:
        How long one action's ``execute()`` may run: its LLM requests (retries and backoff
        included) and the template that replaces a late answer. The LLM's words must come within
        the first 90 % of it (`actions.modifier.DEADLINE_SHARE`); a request still running then is
        cut, reported as a timeout, and a template is sent in the remaining time. The one number
        that bounds how long a guild waits for an action; `timeout_s` and `max_retries` shape the
        requests inside it (`worst_case_s` may exceed it: the budget cuts).
    max_tokens:
        The most tokens one answer may take (sent with every request as ``max_tokens``; a
        reasoning model's thinking counts too). Bounds what a request can cost, so a token budget
        can reserve it before asking.
    guild_daily_tokens:
        Each guild's LLM tokens (prompt and completion, every purpose) per UTC day; 0: no limit.
        When spent, templates write the words (`actions.budget`).
    global_daily_tokens:
        All guilds' LLM tokens together per UTC day, over every host sharing the state store
        (the store keeps the day's count: `actors.stores.ledger.StoreLedger`; a ``memory:``
        store is each process's own, so there each host counts apart); 0: no limit.

    Raises
    ------
    ValueError
        Naming the field, for an out-of-range value.
    """

    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 10.0
    max_retries: int = 2
    retry_backoff_s: float = 0.5
    max_concurrency: int = 8
    temperature: float = 0.9
    max_chars: int = 1800
    action_budget_s: float = 30.0
    max_tokens: int = 1024
    guild_daily_tokens: int = 0
    global_daily_tokens: int = 0

    @property
    def worst_case_s(self) -> float:
        """The longest the client takes for one answer on its own: `timeout_s` for each of the
        ``max_retries + 1`` attempts plus the backoff between them (doubling from
        `retry_backoff_s`). 31.5 s at the defaults: more than the LLM's share of
        `action_budget_s`, which therefore cuts it."""
        attempts = self.max_retries + 1
        return self.timeout_s * attempts + self.retry_backoff_s * (2**self.max_retries - 1)

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"llm.base_url must start with http:// or https://, got {self.base_url!r}."
            )
        if not self.model:
            raise ValueError("llm.model must not be empty.")
        if not self.api_key_env.replace("_", "").isalnum():
            raise ValueError(
                f"llm.api_key_env must be an environment variable name, got {self.api_key_env!r}."
            )
        if not self.timeout_s > 0:
            raise ValueError(f"llm.timeout_s must be > 0, got {self.timeout_s!r}.")
        if not 0 <= self.max_retries <= 10:
            raise ValueError(f"llm.max_retries must be in [0, 10], got {self.max_retries!r}.")
        if self.retry_backoff_s < 0:
            raise ValueError(f"llm.retry_backoff_s must be >= 0, got {self.retry_backoff_s!r}.")
        if not 1 <= self.max_concurrency <= 1024:
            raise ValueError(
                f"llm.max_concurrency must be in [1, 1024], got {self.max_concurrency!r}."
            )
        if not 0 <= self.temperature <= 2:
            raise ValueError(f"llm.temperature must be in [0, 2], got {self.temperature!r}.")
        if self.max_chars < 1:
            raise ValueError(f"llm.max_chars must be >= 1, got {self.max_chars!r}.")
        if not 1 <= self.max_tokens <= 1_000_000:
            raise ValueError(f"llm.max_tokens must be in [1, 1000000], got {self.max_tokens!r}.")
        for name in ("guild_daily_tokens", "global_daily_tokens"):
            value = getattr(self, name)
            if not 0 <= value <= 10**12:
                raise ValueError(f"llm.{name} must be in [0, 10**12] (0: no limit), got {value!r}.")
        if not 0 < self.action_budget_s <= 600:
            raise ValueError(
                f"llm.action_budget_s must be in (0, 600], got {self.action_budget_s!r}."
            )
