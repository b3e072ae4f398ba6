"""Notifications: a Slack-compatible JSON webhook on promotion, rollback and incident.

A failing webhook never breaks a rollout: `send` returns the error text, which the
controller records in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EVENTS = ("promotion", "rollback", "incident")
_ICONS = {"promotion": ":rocket:", "rollback": ":rewind:", "incident": ":rotating_light:"}


@dataclass(frozen=True)
class Notification:
    """One event to tell people about: `event` is one of EVENTS; `facts` become fields."""

    event: str
    title: str
    text: str
    facts: dict[str, str] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Slack's incoming-webhook JSON: `text` for plain receivers, `blocks` for Slack."""
        headline = f"{_ICONS.get(self.event, '')} {self.title}".strip()
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": self.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": self.text[:3000]}},
        ]
        if self.facts:
            fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in list(self.facts.items())[:10]]
            blocks.append({"type": "section", "fields": fields})
        return {"text": f"{headline}: {self.text}", "blocks": blocks, "event": self.event}


class WebhookNotifier:
    """POSTs each notification as JSON to `url` within `timeout` seconds."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, notification: Notification) -> str | None:
        """Deliver one notification; None on success, else why it failed."""
        import httpx

        try:
            response = httpx.post(self.url, json=notification.payload(), timeout=self.timeout)
        except httpx.HTTPError as exc:
            return f"webhook {self.url} unreachable: {type(exc).__name__}: {exc}"
        if response.status_code >= 300:
            return f"webhook {self.url} answered HTTP {response.status_code}: {response.text[:200]}"
        return None
