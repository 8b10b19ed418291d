"""Load generator over the REST channel, and the statistics of what it measured.

Closed loop: each of `concurrency` simulated visitors plays one scripted conversation after
another, sending the next message as soon as the previous answer arrived (no think time), so
the server is kept as busy as that many visitors can make it. Every conversation has its own
sender id. An answer counts as an error if the status is not 200, the request timed out or
failed, the reply list is empty (a visitor would see nothing), or the reply is the rate
limit's "too many messages" (answered at once, it would pass for a fast answer).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import aiohttp

from benchmark.conversations import Script


def _rate_limited_text() -> str:
    """The start of our rate limit's reply (domain.yml, utter_too_many_messages)."""
    try:
        from content import domain

        text = domain.responses()["utter_too_many_messages"][0]["text"]
        return " ".join(str(text).split())[:40]
    except (OSError, KeyError, IndexError, TypeError, ValueError):
        return "You are sending messages faster than"


RATE_LIMITED = _rate_limited_text()


def reply_error(replies: object) -> Optional[str]:
    """What is wrong with a 200 answer's body, or None."""
    if not isinstance(replies, list) or not replies:
        return "empty reply"
    for reply in replies:
        text = " ".join(str(reply.get("text") or "").split()) if isinstance(reply, dict) else ""
        if text.startswith(RATE_LIMITED):
            return "rate limited"
    return None


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between the closest ranks,
    as numpy's default, so figures match what a reader would compute from the raw samples."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile out of range: {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass
class Sample:
    text: str
    seconds: float
    error: Optional[str] = None  # None when answered


@dataclass
class LevelResult:
    """What one load level measured; latencies in milliseconds."""

    concurrency: int
    conversations: int
    messages: int
    errors: int
    error_kinds: Dict[str, int]
    duration_s: float
    throughput_msg_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    per_message_p50_ms: Dict[str, float] = field(default_factory=dict)
    failed_messages: Dict[str, int] = field(default_factory=dict)  # which texts failed, to find why

    def to_dict(self) -> Dict[str, object]:
        return asdict(self)


def summarise(concurrency: int, conversations: int, samples: List[Sample], duration: float) -> LevelResult:
    """Percentiles over every message (answered or not: a timeout is a slow answer too)."""
    latencies = [s.seconds * 1000 for s in samples]
    by_text: Dict[str, List[float]] = {}
    for sample in samples:
        by_text.setdefault(sample.text, []).append(sample.seconds * 1000)
    errors = Counter(s.error for s in samples if s.error)
    return LevelResult(
        concurrency=concurrency,
        conversations=conversations,
        messages=len(samples),
        errors=sum(errors.values()),
        error_kinds=dict(errors),
        duration_s=round(duration, 3),
        throughput_msg_s=round(len(samples) / duration, 3) if duration > 0 else 0.0,
        p50_ms=round(percentile(latencies, 50), 1),
        p95_ms=round(percentile(latencies, 95), 1),
        p99_ms=round(percentile(latencies, 99), 1),
        mean_ms=round(sum(latencies) / len(latencies), 1),
        max_ms=round(max(latencies), 1),
        per_message_p50_ms={t: round(percentile(v, 50), 1) for t, v in sorted(by_text.items())},
        failed_messages=dict(Counter(s.text for s in samples if s.error)),
    )


async def send(
    session: aiohttp.ClientSession, webhook: str, sender: str, text: str, timeout: float
) -> Tuple[float, Optional[str]]:
    """One message; returns (seconds, error kind or None)."""
    started = time.perf_counter()
    error: Optional[str] = None
    try:
        async with session.post(
            webhook,
            json={"sender": sender, "message": text},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            body = await response.read()
            if response.status != 200:
                error = f"HTTP {response.status}"
            else:
                error = reply_error(json.loads(body))
    except asyncio.TimeoutError:
        error = "timeout"
    except (aiohttp.ClientError, ValueError) as failure:
        error = type(failure).__name__
    return time.perf_counter() - started, error


async def _play(
    webhook: str,
    scripts: List[Script],
    concurrency: int,
    conversations: int,
    sender_prefix: str,
    timeout: float,
    max_seconds: Optional[float] = None,
) -> Tuple[List[Sample], float, int]:
    samples: List[Sample] = []
    next_conversation = iter(range(conversations))
    played = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()

        async def visitor() -> None:
            nonlocal played
            for index in next_conversation:  # shared iterator: each index is taken once
                if max_seconds is not None and time.perf_counter() - started > max_seconds:
                    return  # time is up: no new conversation (those under way finish)
                sender = f"{sender_prefix}-{index}"
                for text in scripts[index % len(scripts)]:
                    seconds, error = await send(session, webhook, sender, text, timeout)
                    samples.append(Sample(text, seconds, error))
                played += 1

        await asyncio.gather(*(visitor() for _ in range(concurrency)))
        duration = time.perf_counter() - started
    return samples, duration, played


def run_level(
    base_url: str,
    scripts: List[Script],
    concurrency: int,
    conversations: int,
    label: str,
    timeout: float = 60.0,
    max_seconds: Optional[float] = None,
) -> LevelResult:
    """Play `conversations` conversations, `concurrency` at a time, and summarise them; with
    `max_seconds`, no conversation starts after that long (the result counts those played)."""
    prefix = f"bench-{label}-c{concurrency}-{uuid.uuid4().hex[:8]}"
    webhook = f"{base_url}/webhooks/rest/webhook"
    samples, duration, played = asyncio.run(
        _play(webhook, scripts, concurrency, conversations, prefix, timeout, max_seconds)
    )
    return summarise(concurrency, played, samples, duration)


def warm_up(base_url: str, scripts: List[Script], label: str, conversations: int, timeout: float) -> int:
    """Play a few conversations whose figures are thrown away (first-request costs: lazy
    loading, JIT-compiled graphs, connection set-up); returns how many failed messages."""
    result = run_level(
        base_url, scripts, min(4, max(1, conversations)), conversations, f"{label}-warmup", timeout
    )
    return result.errors
