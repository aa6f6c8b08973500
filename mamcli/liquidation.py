"""Exact liquidation points (SPEC §6): where the account's buffer reaches zero under a price move.

Every question is put as one relative move `s`: some assets' index prices become price × (1 + s) and some
positions' marks become mark × (1 + s).
- A symbol's liquidation price moves its positions' marks and, in multi-asset mode, the index price of its
  base asset (BTC collateral falls with a BTC long); everything else stays.  The price is mark × (1 + s*).
- An asset's liquidation shock moves that asset's price and the marks of every position on it.

Along s the buffer (equity − maintenance, USD or a pool's asset units) is a sum of simple terms:
- an asset's collateral (mb0 + k·s)(1 + δ·s) × rate, where the rate is the bid rate while the margin
  balance is positive and the ask rate once it is negative: a quadratic that changes at mb = 0;
- a position's maintenance −A(1 + δ·s)(mmr·n0(1 + ε·s) − cum): a quadratic that changes at each bracket
  floor its notional crosses.
So the buffer is piecewise quadratic with known breakpoints.  The sweep walks the breakpoints outward
from s = 0 carrying the exact coefficients and solves each piece in closed form: no iteration, no
tolerance.  Work is O(terms log terms) per question.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import pairwise
from typing import Protocol

from mamcli.model import Asset, Bracket, Portfolio, Position, bracket_index
from mamcli.numbers import ONE, ZERO
from mamcli.valuation import Account, Pool, collateral_rate, margin_rate

Poly = tuple[Decimal, Decimal, Decimal]  # (c0, c1, c2): c0 + c1·s + c2·s²


class Term(Protocol):
    """One summand of the buffer along s: its polynomial just past s = 0, its breakpoints, and what follows."""

    @property
    def first(self) -> Poly: ...

    @property
    def now(self) -> Decimal:
        """Its value at s = 0 as the account is valued today (on a floor: in the upper bracket)."""
        ...

    def breaks(self) -> Iterable[tuple[Decimal, int | None]]: ...

    def nth_break(self, k: int) -> tuple[Decimal, int | None] | None:
        """Its k-th breakpoint (s, key) moving away from s = 0, nearest first; None past the last."""
        ...

    def after(self, key: int | None) -> Poly: ...

    def last(self) -> Poly | None:
        """Its polynomial past every breakpoint ahead, if the term is concave and linear in s (else None)."""
        ...


def _eval(p: Poly | list[Decimal], s: Decimal) -> Decimal:
    return p[0] + s * (p[1] + s * p[2])


def _roots(p: Poly) -> list[Decimal]:
    c0, c1, c2 = p
    if c2 == 0:
        return [] if c1 == 0 else [-c0 / c1]
    disc = c1 * c1 - 4 * c2 * c0
    if disc < 0:
        return []
    root = disc.sqrt()
    q = -(c1 + root) / 2 if c1 >= 0 else -(c1 - root) / 2  # no cancellation
    if q == 0:
        return [ZERO]
    return [q / c2, c0 / q]


def _first_root(p: Poly, lo: Decimal, hi: Decimal | None, direction: int) -> Decimal | None:
    """The first root reached moving from lo towards hi (None: unbounded) in the direction."""
    best: Decimal | None = None
    for r in _roots(p):
        ahead = direction * (r - lo)
        if ahead < 0 or (hi is not None and direction * (hi - r) < 0):
            continue
        if direction < 0 and r <= -ONE:  # a price must stay positive
            continue
        if best is None or ahead < direction * (best - lo):
            best = r
    return best


def sweep(base: Decimal, terms: list[Term], direction: int) -> Decimal | None:
    """First s in the direction where base + Σ terms reaches 0; 0 if it is there already; None if never.

    Each term has `first` (its polynomial just past s = 0 in the direction), `breaks()` (its breakpoints
    (s, key) in that direction) and `after(key)`, the polynomial past that breakpoint.  Polynomials past a
    breakpoint are built only when the sweep gets there, which for most terms is never.
    """
    if base + sum((t.first[0] for t in terms), ZERO) > 0 and _never(base, terms, direction):
        return None
    from heapq import heapify, heappop, heappush  # only once there is a question to answer

    c0, c1, c2 = base, ZERO, ZERO
    active: list[Poly] = []
    for term in terms:
        p = term.first
        c0 += p[0]
        c1 += p[1]
        c2 += p[2]
        active.append(p)
    cur = [c0, c1, c2]
    if c0 <= 0:
        return ZERO
    # The pending breakpoints, at most one a term (its nearest one not yet passed): a 10,000-position shock has
    # ~300,000 breakpoints, most never reached, so they are produced one by one as the walk gets there.
    heap: list[tuple[Decimal, int, int, Decimal, int | None]] = []
    for i, term in enumerate(terms):
        pending = _next_ahead(term, i, 0, direction)
        if pending is not None:
            heap.append(pending)
    heapify(heap)
    lo = ZERO
    while heap:
        s = heap[0][3]
        root = _first_root((cur[0], cur[1], cur[2]), lo, s, direction)
        if root is not None:
            return root
        while heap and heap[0][3] == s:
            _, i, k, _, key = heappop(heap)
            after = terms[i].after(key)
            before = active[i]
            cur[0] += after[0] - before[0]
            cur[1] += after[1] - before[1]
            cur[2] += after[2] - before[2]
            active[i] = after
            pending = _next_ahead(terms[i], i, k + 1, direction)
            if pending is not None:
                heappush(heap, pending)
        if _eval(cur, s) <= 0:  # a jump at an inconsistent bracket floor
            return s
        lo = s
    return _first_root((cur[0], cur[1], cur[2]), lo, -ONE if direction < 0 else None, direction)


def _next_ahead(term: Term, i: int, k: int, direction: int) -> tuple[Decimal, int, int, Decimal, int | None] | None:
    """The term's first breakpoint from its k-th on that lies ahead of s = 0 and above s = −1, keyed for the
    heap (nearest first); None when there is none."""
    while (b := term.nth_break(k)) is not None:
        s, key = b
        if direction * s > 0:
            return (direction * s, i, k, s, key) if s > -ONE else None
        k += 1
    return None


def _never(base: Decimal, terms: list[Term], direction: int) -> bool:
    """True when the buffer, positive at s = 0, provably never reaches 0 in the direction: no walk needed.

    Why it holds.  Suppose every term is linear in s on each of its pieces (no margin asset's own price moves
    with its balance) and every bracket table is consistent (cum_n = cum_(n−1) + floor_n·(mmr_n − mmr_(n−1))
    with mmr non-decreasing).  Then:
    - a position's maintenance is M(n) = mmr_i·n − cum_i in bracket i: continuous (the cum rule makes the
      pieces meet at each floor) with non-decreasing slopes, so convex in n; n = n0·(1 + ε·s) is linear in s,
      so −M is concave in s;
    - an asset's collateral is min(mb·bid, mb·ask) with bid ≤ ask (haircut and ask buffer are ≥ 0), a minimum
      of two linear functions of mb, hence concave in mb; mb = mb0 + k·s is linear in s, so it is concave in s;
    - a sum of concave functions is concave, so the buffer B is concave along s.
    A concave function on an interval takes its least value at an end.  Moving up, the domain is [0, ∞): B
    stays ≥ B(0) > 0 when the slope of its last piece is ≥ 0 (slopes only fall as s grows).  Moving down, the
    domain is (−1, 0] (a price stays above 0): B > 0 throughout when its last piece is still > 0 at s = −1.
    Where a term is quadratic or a table inconsistent, `last()` says None and the exact walk decides.
    """
    c0 = base
    c1 = ZERO
    for t in terms:
        p = t.last()
        if p is None:
            return False
        c0 += p[0]
        c1 += p[1]
    if direction > 0:
        return c1 >= 0
    return c0 - c1 > 0  # the last piece at s = −1


_CONSISTENT: dict[int, tuple[tuple[Bracket, ...], bool]] = {}


def _consistent_cached(table: tuple[Bracket, ...]) -> bool:
    """`_consistent`, worked out once per table (positions of one symbol share their table)."""
    hit = _CONSISTENT.get(id(table))
    if hit is None or hit[0] is not table:
        hit = _CONSISTENT[id(table)] = (table, _consistent(table))
    return hit[1]


def _consistent(table: tuple[Bracket, ...]) -> bool:
    """cum continuity and non-decreasing rates: the table's maintenance is continuous and convex."""
    return all(b.mmr >= a.mmr and b.cum == a.cum + b.floor * (b.mmr - a.mmr) for a, b in pairwise(table))


# ---------------------------------------------------------------------------------------------- terms


class _Fixed:
    """A term that is one polynomial everywhere."""

    __slots__ = ("first",)

    def __init__(self, poly: Poly):
        self.first = poly

    def breaks(self) -> Iterable[tuple[Decimal, int | None]]:
        return ()

    def nth_break(self, k: int) -> tuple[Decimal, int | None] | None:
        return None

    @property
    def now(self) -> Decimal:
        return self.first[0]

    def after(self, key: int | None) -> Poly:
        return self.first

    def last(self) -> Poly | None:
        return self.first if self.first[2] == 0 else None


class _Collateral:
    """An asset's collateral (mb0 + k·s)(1 + δ·s) × rate; the rate flips between bid and ask at mb = 0."""

    __slots__ = ("mb0", "k", "delta", "first", "_other", "direction")

    def __init__(self, mb0: Decimal, k: Decimal, asset: Asset, delta: int, direction: int):
        self.mb0, self.k, self.delta, self.direction = mb0, k, delta, direction
        # The margin balance just past s = 0 (at 0, the way it moves) picks the rate, as valuation does.
        ahead = mb0 if mb0 != 0 else k * direction
        self.first = self._poly(collateral_rate(ahead, asset))
        self._other = collateral_rate(-ONE if ahead >= 0 else ONE, asset)

    def breaks(self) -> Iterable[tuple[Decimal, int | None]]:
        """Where the margin balance crosses zero (the sweep keeps it only if it lies ahead)."""
        return ((-self.mb0 / self.k, None),) if self.k != 0 else ()

    def nth_break(self, k: int) -> tuple[Decimal, int | None] | None:
        return (-self.mb0 / self.k, None) if k == 0 and self.k != 0 else None

    @property
    def now(self) -> Decimal:
        return self.first[0]

    def _poly(self, rate: Decimal) -> Poly:
        return (rate * self.mb0, rate * (self.k + self.mb0 * self.delta), rate * self.k * self.delta)

    def after(self, key: int | None) -> Poly:
        return self._poly(self._other)

    def last(self) -> Poly | None:
        if self.k * self.delta != 0:  # the balance and the price both move: quadratic
            return None
        ahead = [s for s, _ in self.breaks() if self.direction * s > 0 and s > -ONE]
        return self.after(None) if ahead else self.first


class _Maintenance:
    """A position's maintenance −rate·(1 + δs)·(mmr·n0·(1 + εs) − cum), changing bracket at its floors."""

    __slots__ = ("n0", "n1", "rate", "delta", "table", "first", "start", "direction", "now")

    def __init__(self, pos: Position, eps: int, rate: Decimal, delta: int, direction: int):
        self.n0 = n0 = pos.quantity * pos.mark_price
        self.n1 = n0 * eps
        self.rate, self.delta, self.direction = rate, delta, direction
        self.table: tuple[Bracket, ...]
        if pos.maint_margin_rate is not None or eps == 0:
            self.table = ()
            self.start = 0
            self.first = self._poly(*pos.maint_terms())
            self.now = self.first[0]
            return
        self.table = table = pos.brackets
        i = bracket_index(table, n0)
        self.now = self._poly(table[i].mmr, table[i].cum)[0]
        if direction < 0 and i > 0 and n0 == table[i].floor:
            # On a floor the notional is in the upper bracket; the least move down leaves it.  `now` keeps the
            # upper bracket's value, so an inconsistent table's jump at the floor is counted, not absorbed.
            i -= 1
        self.start = i
        self.first = self._poly(table[i].mmr, table[i].cum)

    def breaks(self) -> Iterator[tuple[Decimal, int | None]]:
        k = 0
        while (b := self.nth_break(k)) is not None:
            yield b
            k += 1

    def nth_break(self, k: int) -> tuple[Decimal, int | None] | None:
        table, i, n0 = self.table, self.start, self.n0
        if not table:
            return None
        if self.direction < 0:  # below floor j the bracket j − 1 applies
            j = i - k
            return (table[j].floor / n0 - ONE, j - 1) if j >= 1 else None
        j = i + 1 + k  # from floor j up the bracket j applies
        return (table[j].floor / n0 - ONE, j) if j < len(table) else None

    def _poly(self, mmr: Decimal, cum: Decimal) -> Poly:
        a0 = mmr * self.n0 - cum
        a1 = mmr * self.n1
        r = self.rate
        d = self.delta
        return (-r * a0, -r * (a1 + a0 * d), -r * a1 * d)

    def after(self, key: int | None) -> Poly:
        assert key is not None
        b = self.table[key]
        return self._poly(b.mmr, b.cum)

    def last(self) -> Poly | None:
        if self.n1 * self.delta != 0:  # the notional and the margin asset's rate both move: quadratic
            return None
        table = self.table
        if not table:
            return self.first
        if not _consistent_cached(table):
            return None
        if self.direction < 0:  # every floor above 0 lies ahead, down to the first bracket
            return self.after(0) if self.start > 0 else self.first
        return self.after(len(table) - 1) if self.start < len(table) - 1 else self.first


class Solver:
    """Liquidation questions about one portfolio; indexes built once, each question O(its terms)."""

    def __init__(self, pf: Portfolio, account: Account):
        self.pf = pf
        self.buffer = account.equity_usd - account.maint_margin_usd
        self.upnl = account.upnl
        self.by_margin: dict[str, list[int]] = {}
        self.by_symbol: dict[str, list[int]] = {}
        self.by_base: dict[str | None, list[int]] = {}
        for i, pos in enumerate(pf.positions):
            self.by_margin.setdefault(pos.margin_asset, []).append(i)
            self.by_symbol.setdefault(pos.symbol, []).append(i)
            self.by_base.setdefault(pos.base_asset, []).append(i)
        self._moves: dict[tuple[str, int, int | None], Decimal | None] = {}
        # Single-asset pools, as valuation built them; each names the positions it carries.
        self.pools: tuple[Pool, ...] = account.pools or ()
        self.pool_of: dict[int, int] = {i: k for k, pool in enumerate(self.pools) for i in pool.positions}
        self.by_pool_symbol: dict[tuple[int, str], list[int]] = {}
        for i, k in self.pool_of.items():
            self.by_pool_symbol.setdefault((k, pf.positions[i].symbol), []).append(i)

    # -- multi-asset: the whole account's USD buffer
    def _multi(self, moving: list[int], assets: set[str], direction: int) -> Decimal | None:
        pf = self.pf
        k: dict[str, Decimal] = {}
        for i in moving:
            pos = pf.positions[i]
            k[pos.margin_asset] = k.get(pos.margin_asset, ZERO) + pos.side * pos.quantity * pos.mark_price
        moving_set = set(moving)
        terms: list[Term] = []
        for name in set(k) | {n for n in assets if n in pf.assets}:
            a = pf.assets[name]
            terms.append(
                _Collateral(a.balance + self.upnl[name], k.get(name, ZERO), a, 1 if name in assets else 0, direction)
            )
        touched = moving_set | {i for name in assets for i in self.by_margin.get(name, ())}
        for i in touched:
            pos = pf.positions[i]
            terms.append(
                _Maintenance(
                    pos,
                    1 if i in moving_set else 0,
                    margin_rate(pf, pos.margin_asset),
                    1 if pos.margin_asset in assets else 0,
                    direction,
                )
            )
        base = self.buffer - sum((t.now for t in terms), ZERO)
        return sweep(base, terms, direction)

    # -- single-asset: one pool's buffer in its own asset units
    def _pool(self, k_pool: int, members: list[int], direction: int) -> Decimal | None:
        """The move of the pool's positions in `members` (all of the pool's) that exhausts the pool."""
        pool = self.pools[k_pool]
        moving = [self.pf.positions[i] for i in members]
        slope = sum((pos.side * pos.quantity * pos.mark_price for pos in moving), ZERO)
        terms: list[Term] = [_Fixed((ZERO, slope, ZERO))]
        terms += [_Maintenance(pos, 1, ONE, 0, direction) for pos in moving]
        base = pool.buffer - sum((t.now for t in terms), ZERO)
        return sweep(base, terms, direction)

    def _account(self, moving: list[int], assets: set[str], direction: int) -> Decimal | None:
        if self.pf.multi:
            return self._multi(moving, assets, direction)
        by_pool: dict[int, list[int]] = {}
        for i in moving:  # each moving position once, grouped by the pool that carries it
            by_pool.setdefault(self.pool_of[i], []).append(i)
        found = [s for k, members in by_pool.items() if (s := self._pool(k, members, direction)) is not None]
        return min(found, key=abs) if found else None

    def liquidation_price(self, index: int) -> Decimal | None:
        """The mark of the position's symbol at which its account (or pool) reaches ratio 100 %."""
        pos = self.pf.positions[index]
        for direction in (-pos.side, pos.side):  # the losing side first
            s = self._symbol_move(index, direction)
            if s is not None:
                return pos.mark_price * (ONE + s)
        return None

    def _symbol_move(self, index: int, direction: int) -> Decimal | None:
        pf = self.pf
        pos = pf.positions[index]
        key = (pos.symbol, direction, self.pool_of.get(index))
        if key not in self._moves:
            moving = self.by_symbol[pos.symbol]
            if pf.multi:
                assets = {pos.base_asset} if pos.base_asset in pf.assets else set()
                self._moves[key] = self._multi(moving, assets, direction)
            else:
                k_pool = self.pool_of[index]
                members = self.by_pool_symbol[k_pool, pos.symbol]
                self._moves[key] = self._pool(k_pool, members, direction)
        return self._moves[key]

    def liquidation_shock(self, shocked: set[str], direction: int) -> Decimal | None:
        """The shock of the assets in `shocked` (prices and the marks on them) that brings ratio to 100 %."""
        moving = sorted(i for name in shocked for i in self.by_base.get(name, ()))
        if not self.pf.positions:  # nothing to maintain: no shock can liquidate (SPEC §9)
            return None
        if any(pool.band == "liquidation" for pool in self.pools):  # single-asset: a pool is there already
            return ZERO
        if not moving and not (self.pf.multi and any(n in self.pf.assets for n in shocked)):
            return None
        return self._account(moving, shocked, direction)
