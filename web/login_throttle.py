"""Login rate limiting: a few wrong passwords per address and client, then a pause.

Counts live in Redis (the hub's queue connection), so every web process of a deployment shares
them and they expire on their own. Two windows are counted:

* per client IP and email: :data:`PER_ACCOUNT` failures in :data:`WINDOW` block that pair —
  guessing one person's password;
* per client IP: :data:`PER_CLIENT` failures block the IP for every address — spraying;
* per address from any IP: :data:`PER_ADDRESS` failures pause the address for :data:`ADDRESS_PAUSE`
  only — guessing from many IPs. Short on purpose: a stranger can cause it, so it must not lock
  the owner out for long.

A successful sign-in clears the pair's count.
"""

from __future__ import annotations

import hashlib

import redis

WINDOW = 15 * 60
PER_ACCOUNT = 5
PER_CLIENT = 30
PER_ADDRESS = 20
ADDRESS_PAUSE = 5 * 60


class LoginThrottle:
    """Failure counters for sign-in attempts.

    :param connection: a Redis connection (``hub.queues.connection``).
    """

    def __init__(self, connection: redis.Redis, window: int = WINDOW, per_account: int = PER_ACCOUNT,
                 per_client: int = PER_CLIENT):
        self.redis = connection
        self.window = window
        self.per_account = per_account
        self.per_client = per_client

    @staticmethod
    def _digest(email: str) -> str:
        # the address is hashed: Redis holds no list of who tried to sign in
        return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]

    def _keys(self, ip: str, email: str) -> tuple[str, str, str]:
        digest = self._digest(email)
        return f"hub:login-fail:{ip}:{digest}", f"hub:login-fail:{ip}", f"hub:login-fail-address:{digest}"

    def retry_after(self, ip: str, email: str) -> int | None:
        """Seconds until ``ip`` may try ``email`` again, or None when it may try now."""
        pair, client, _address = self._keys(ip, email)
        paused = f"hub:login-paused:{self._digest(email)}"
        pair_count, client_count, pause = self.redis.mget(pair, client, paused)
        if int(pair_count or 0) >= self.per_account:
            return max(1, self.redis.ttl(pair))
        if int(client_count or 0) >= self.per_client:
            return max(1, self.redis.ttl(client))
        if pause:
            return max(1, self.redis.ttl(paused))
        return None

    def failed(self, ip: str, email: str) -> None:
        """Count one wrong password; the window starts with the first failure."""
        pipe = self.redis.pipeline()
        for key in self._keys(ip, email):
            # SET NX starts the window once; INCR keeps the key's expiry (works on Redis 6 too)
            pipe.set(key, 0, ex=self.window, nx=True)
            pipe.incr(key)
        by_address = pipe.execute()[-1]
        if by_address >= PER_ADDRESS:  # a short pause, then the count starts again
            digest = self._digest(email)
            self.redis.set(f"hub:login-paused:{digest}", 1, ex=ADDRESS_PAUSE)
            self.redis.delete(f"hub:login-fail-address:{digest}")

    def succeeded(self, ip: str, email: str) -> None:
        """Forget the pair's failures after a good password."""
        self.redis.delete(self._keys(ip, email)[0])
