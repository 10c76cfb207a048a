"""Access tokens for the SDK: OAuth2 password grant (people), client credentials (systems), or a token you hold.

The node's token endpoint (``POST /api/v1/auth/token``, RFC 6749) issues short-lived bearer tokens (JWT, lifetime
``expires_in`` seconds, 60 minutes by default) and no refresh tokens. The manager therefore keeps the credentials
and signs in again: shortly before the token expires, and once more when the node answers 401 ``token_expired``
(or ``invalid_token``, e.g. after the node rotated its signing secret) to a request made with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

TOKEN_PATH = "/api/v1/auth/token"

# 401 codes after which signing in again may help; other 401s (wrong password, ...) would just fail again
RENEWABLE_CODES = frozenset({"token_expired", "invalid_token"})


@dataclass(frozen=True)
class Credentials:
    """What the client signs in with: exactly one of a person's password, a system's client credentials, a token."""

    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    token: str | None = None

    def __post_init__(self) -> None:
        given = [name for name, ok in (("username/password", self.username or self.password),
                                       ("client_id/client_secret", self.client_id or self.client_secret),
                                       ("token", self.token)) if ok]
        if len(given) > 1:
            raise ValueError(f"give one way to sign in, not {' and '.join(given)}")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together (OAuth2 password grant)")
        if (self.client_id is None) != (self.client_secret is None):
            raise ValueError("client_id and client_secret go together (OAuth2 client credentials grant)")

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.client_id or self.token)

    @property
    def renewable(self) -> bool:
        """Whether the client can get a new token by itself (a fixed ``token`` cannot be renewed)."""
        return bool(self.username or self.client_id)

    def form(self) -> dict[str, str]:
        if self.username is not None:
            return {"grant_type": "password", "username": self.username, "password": self.password or ""}
        return {"grant_type": "client_credentials", "client_id": self.client_id or "",
                "client_secret": self.client_secret or ""}


class TokenManager:
    """Holds the current access token; thread-safe (a feed consumer thread and the main thread may share a client).

    ``fetch`` posts the token form and returns the parsed answer; it is given by the client so that the token
    request gets the same retries and error mapping as every other request.
    """

    def __init__(self, credentials: Credentials, fetch: Callable[[dict[str, str]], dict]) -> None:
        self.credentials = credentials
        self._fetch = fetch
        self._lock = threading.Lock()
        self._token: str | None = credentials.token
        self._expires_at: float | None = None  # time.monotonic() deadline; None: unknown (a given token)
        self._margin = 0.0
        self.grants: list[dict[str, str]] = []

    @property
    def token(self) -> str | None:
        return self._token

    def authorization(self) -> dict[str, str]:
        """The Authorization header for the next request; signs in first if there is no valid token."""
        if self.credentials.anonymous:
            return {}
        with self._lock:
            if self._token is None or (self._expires_at is not None
                                       and time.monotonic() >= self._expires_at - self._margin):
                self._sign_in()
            return {"Authorization": f"Bearer {self._token}"}

    def renew_after_rejection(self, rejected_token: str | None) -> bool:
        """The node refused ``rejected_token``: get a new one. False if that is impossible (a fixed token).

        Only the first of several threads that saw the same token refused signs in again; the others reuse it.
        """
        if not self.credentials.renewable:
            return False
        with self._lock:
            if self._token == rejected_token:
                self._sign_in()
        return True

    def _sign_in(self) -> None:
        answer = self._fetch(self.credentials.form())
        lifetime = float(answer.get("expires_in") or 0)
        self._token = answer["access_token"]
        self.grants = list(answer.get("grants") or [])
        # renew a little before the node would refuse it: 10 % of the lifetime, at most a minute (clock drift,
        # a request queued behind a slow one)
        self._margin = min(60.0, lifetime * 0.1)
        self._expires_at = time.monotonic() + lifetime if lifetime else None


def token_of(request: httpx.Request) -> str | None:
    """The bearer token a request was sent with."""
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None
