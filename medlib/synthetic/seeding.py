"""Seeded, order-free choices the synthetic generators share.

A generator must give a trust the same rows whichever other trusts it is generated with (each
report of a pack adds its own trust to the list), so every choice here depends only on the
seed and the trust's code.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

from medlib.errors import MedlibError

__all__ = ["apply_behaviour_overrides", "deal_behaviours", "stable_int"]


def stable_int(text: str) -> int:
    """A hash of ``text`` that is the same in every process (unlike ``hash``).

    Example:
        >>> stable_int("RTD") == stable_int("RTD")
        True
    """
    return zlib.crc32(text.encode("utf-8"))


def deal_behaviours(
    trusts: Sequence[str], defaults: Sequence[str], names: Sequence[str], salt: str
) -> dict[str, str]:
    """A behaviour per trust: dealt out over ``defaults`` in a seeded order, hashed for others.

    Args:
        trusts: The trusts to give a behaviour (repeats ignored).
        defaults: The default trusts, which between them show every behaviour.
        names: The behaviours, in dealing order.
        salt: What makes the order the generator's own (the seed, with a prefix).

    Example:
        >>> deal_behaviours(["B", "Z"], ["A", "B"], ["x", "y"], "1")["B"] in {"x", "y"}
        True
    """
    order = sorted(defaults, key=lambda t: (stable_int(f"{salt}:{t}"), t))
    dealt = {t: names[i % len(names)] for i, t in enumerate(order)}
    return {
        t: dealt.get(t, names[stable_int(f"{salt}:{t}") % len(names)])
        for t in dict.fromkeys(trusts)
    }


def apply_behaviour_overrides(
    chosen: dict[str, str],
    overrides: Mapping[str, str] | None,
    names: Sequence[str],
    error: type[MedlibError],
) -> dict[str, str]:
    """``chosen`` with the caller's behaviours put in, each checked to be one of ``names``.

    Raises:
        error: An override names no known behaviour (the message names the trust).
    """
    for trust, name in dict(overrides or {}).items():
        if name not in names:
            raise error(
                f"behaviours[{trust!r}]: unknown behaviour {name!r}; expected one of "
                f"{', '.join(names)}"
            )
        chosen[trust] = name
    return chosen
