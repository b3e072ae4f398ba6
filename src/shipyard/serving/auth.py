"""Bearer tokens with scopes: who may score, send labels, or read the server's details.

Tokens come from the `SHIPYARD_TOKENS` environment variable and/or a secret file
(`shipyard serve --tokens-file`). Each entry is a token and its scopes, entries separated
by newlines or `;`, `#` starts a comment:

    sha256:4f1c...e9  predict,feedback     # hashed at rest (preferred)
    s3cr3t-token      admin                # plain: hashed as soon as it is read

Only sha256 digests are kept in memory, and a presented token is hashed and compared with
`hmac.compare_digest` against every known digest (constant time, no early exit). Scopes:
`predict` (`/predict`, `/invocations`), `feedback` (`/feedback`), `admin` (everything,
plus `/v1/models` details, `/v1/reload` and `/metrics`).

Examples:
    >>> text = "alpha-0123456789ab predict\\nsha256:" + digest("beta") + " feedback,predict"
    >>> tokens = TokenStore.parse(text)
    >>> tokens.scopes_of("alpha-0123456789ab"), sorted(tokens.scopes_of("beta"))
    (frozenset({'predict'}), ['feedback', 'predict'])
    >>> tokens.scopes_of("gamma") is None
    True
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from shipyard.errors import ConfigError

PREDICT = "predict"
FEEDBACK = "feedback"
ADMIN = "admin"
SCOPES = (PREDICT, FEEDBACK, ADMIN)
TOKENS_ENV = "SHIPYARD_TOKENS"

_HEX64 = re.compile(r"[0-9a-f]{64}")


def digest(token: str) -> str:
    """The sha256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class TokenStore:
    """Known token digests and their scopes."""

    entries: tuple[tuple[bytes, frozenset[str]], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.entries)

    @classmethod
    def parse(cls, text: str, *, source: str = TOKENS_ENV) -> TokenStore:
        """Entries `TOKEN SCOPES` or `sha256:HEX SCOPES`; ConfigError naming `source` and the line."""
        entries = []
        lines = [line.split("#", 1)[0].strip() for line in re.split(r"[\n;]", text)]
        for number, line in enumerate(lines, start=1):
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ConfigError(
                    f"{source}: entry {number} must be 'TOKEN SCOPES' "
                    f"(e.g. 'sha256:<hex> predict,feedback'); got {len(parts)} words."
                )
            token, scopes_text = parts
            scopes = frozenset(s for s in scopes_text.split(",") if s)
            unknown = sorted(scopes - set(SCOPES))
            if unknown or not scopes:
                raise ConfigError(
                    f"{source}: entry {number} has unknown scope(s) {unknown or scopes_text!r}; "
                    f"use a comma-separated list of {', '.join(SCOPES)}."
                )
            if token.startswith("sha256:"):
                hexdigest = token[len("sha256:") :].lower()
                if not _HEX64.fullmatch(hexdigest):
                    raise ConfigError(
                        f"{source}: entry {number}: 'sha256:' must be followed by 64 hex digits."
                    )
            else:
                if len(token) < 16:
                    raise ConfigError(
                        f"{source}: entry {number}: tokens must have at least 16 characters "
                        "(python -c 'import secrets; print(secrets.token_urlsafe(32))')."
                    )
                hexdigest = digest(token)
            entries.append((bytes.fromhex(hexdigest), scopes))
        return cls(tuple(entries))

    @classmethod
    def load(cls, tokens_file: Path | None, environ: dict[str, str] | None = None) -> TokenStore:
        """Tokens from `SHIPYARD_TOKENS` plus `tokens_file`; empty when neither is set."""
        env = os.environ if environ is None else environ
        stores = [cls.parse(env[TOKENS_ENV])] if env.get(TOKENS_ENV) else []
        if tokens_file is not None:
            try:
                text = tokens_file.read_text()
            except OSError as exc:
                raise ConfigError(
                    f"Cannot read the tokens file {tokens_file}: {exc.strerror}. Check --tokens-file."
                ) from None
            stores.append(cls.parse(text, source=str(tokens_file)))
        return cls(tuple(e for store in stores for e in store.entries))

    def scopes_of(self, token: str) -> frozenset[str] | None:
        """The scopes of `token`, or None when it is unknown; constant time over all entries."""
        presented = hashlib.sha256(token.encode()).digest()
        found: frozenset[str] | None = None
        for stored, scopes in self.entries:
            if hmac.compare_digest(presented, stored):
                found = scopes
        return found


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one request's credentials: `status` 0 when allowed, else 401/403."""

    status: int
    message: str = ""
    subject: str = ""  # who is asking: a token's digest prefix, "" without authentication


def authorize(tokens: TokenStore | None, authorization: str | None, scope: str) -> Verdict:
    """Allow, or 401 (no or unknown token) / 403 (known token without `scope`)."""
    if not tokens:
        return Verdict(0)
    if not authorization or not authorization.lower().startswith("bearer "):
        return Verdict(401, "This server requires a bearer token: send 'Authorization: Bearer <token>'.")
    token = authorization[len("bearer ") :].strip()
    scopes = tokens.scopes_of(token)
    if scopes is None:
        return Verdict(401, "The bearer token is not valid for this server.")
    subject = digest(token)[:12]
    if scope not in scopes and ADMIN not in scopes:
        return Verdict(403, f"This token lacks the '{scope}' scope needed here.", subject)
    return Verdict(0, subject=subject)
