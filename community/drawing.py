"""The prize draws' drawing, a pure function of a seed and the entries (no Django), so that anyone
can check a draw: the seed's SHA-256 is published when the draw is scheduled, the seed and the
entries after it.

The algorithm (also shown on each draw's public page):

1. `seed_hash(seed)` is the SHA-256 of the seed's UTF-8 bytes, in lower-case hexadecimal.
2. The entries are ordered by their id (the draw's public list is in that order); an entry holding
   `t` tickets owns the next `t` ticket numbers, from 0: with entries (a, 3), (b, 2) a owns tickets
   0-2 and b tickets 3-4.
3. For the pick numbered `n` (0, 1, 2...): `h = HMAC-SHA256(key=seed, message=str(n))` (both as
   UTF-8 bytes), read as a big-endian unsigned integer; the winning ticket is `h mod T`, where `T`
   is the number of tickets still in the draw. Its holder wins and leaves the draw with all their
   tickets (a member wins once); the remaining entries are numbered again from 0 in the same order.
4. Repeat until `count` winners are picked or no entry is left.

`h` has 256 bits and `T` is at most a few billion, so the modulo's bias is below 2**-200.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence


def seed_hash(seed: str) -> str:
    """The SHA-256 of the seed (UTF-8), lower-case hexadecimal: what is published before the draw."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def pick(seed: str, number: int, tickets: int) -> int:
    """The winning ticket of pick `number` among `tickets` tickets (0 to tickets - 1)."""
    if tickets < 1:
        raise ValueError("a pick needs at least one ticket")
    digest = hmac.new(seed.encode("utf-8"), str(number).encode("ascii"), hashlib.sha256).digest()
    return int.from_bytes(digest, "big") % tickets


def ordered(entries: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The entries in the draw's order (by id), those holding no ticket left out; an id given twice
    is refused (a member's tickets are summed into one entry first)."""
    ids = [entry_id for entry_id, _ in entries]
    if len(set(ids)) != len(ids):
        raise ValueError("an entry id appears twice")
    if any(tickets < 0 for _, tickets in entries):
        raise ValueError("an entry cannot hold fewer than 0 tickets")
    return sorted((entry_id, tickets) for entry_id, tickets in entries if tickets)


def winners(seed: str, entries: Sequence[tuple[int, int]], count: int) -> list[int]:
    """The ids of the winners, in the order they were picked (rank 1 first): at most `count`, fewer
    when fewer entries hold tickets. The same seed and entries always give the same winners."""
    if not seed:
        raise ValueError("a draw needs a seed")
    if count < 1:
        raise ValueError("a draw has at least one winner")
    pool = ordered(entries)
    chosen: list[int] = []
    while pool and len(chosen) < count:
        ticket = pick(seed, len(chosen), sum(tickets for _, tickets in pool))
        for index, (entry_id, tickets) in enumerate(pool):
            if ticket < tickets:
                chosen.append(entry_id)
                del pool[index]
                break
            ticket -= tickets
    return chosen
