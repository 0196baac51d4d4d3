"""Password hashing: argon2-cffi's ``PasswordHasher``, Argon2id, with stated parameters.

:data:`PARAMETERS` are RFC 9106's second recommended option (64 MiB of memory, 3 passes,
4 lanes; 16-byte salt, 32-byte hash), argon2-cffi's own defaults written out, so a change
of library default does not silently change ours. A stored hash carries its parameters:
when they differ from these, a successful sign-in stores a fresh hash (``needs_rehash``).

A sign-in with an unknown user name verifies against a dummy hash, so it takes as long as
a wrong password.
"""

from __future__ import annotations

import secrets
from functools import cached_property

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

PARAMETERS = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4, "hash_len": 32,
              "salt_len": 16, "type": Type.ID}


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher(**PARAMETERS)  # type: ignore[arg-type]

    @cached_property
    def _dummy(self) -> str:
        """A hash of a random password, made on first need (a sign-in by an unknown name)."""
        return self.hasher.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored``; with no stored hash, as slow as a miss."""
        try:
            return self.hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True
