"""Compiled kernels of the ordering search: the moves, the local search and the kicks.

The path is stored as a cycle through a dummy track (index ``n``) that opens and closes the set:
``tour[0]`` is always the dummy, ``tour[1:]`` the play order, ``pos[x]`` where track ``x`` sits. The
cost matrix is padded with the dummy's row and column: the opening and closing costs (0, or
:data:`~service.dj.sequencing.objective.FORBIDDEN` for a track that may not open or close the set: a
pin, a locked pair's second or first track), so pins and locks are plain costs and a move breaks
them only by paying that price. Moves never reverse a stretch
without computing its reversed transitions, since costs are asymmetric:

- **Or-opt**: a run of one to three tracks moves to another gap, as is or reversed, the gap found
  from candidate lists of the run's ends;
- **or-3opt (segment swap)**: two neighbouring stretches of any length trade places (A B C → A C B),
  also with the first or the second played backwards, searched LK-style: a first new transition
  from a candidate list with a positive gain, the second from a candidate list, the third forced;
- **2-opt**: a stretch of any length is played backwards;
- **kick**: three neighbouring stretches B C D become D C B (a double bridge local to a window): four
  transitions change at once, more than one improving move can undo, and every direction is kept.

The arc term prices each track at the time it plays (see :mod:`service.dj.timeline`): a track starts
when the tracks before it have held the floor, so a move changes the start times only inside the
stretch it rearranges. Its arc change is computed exactly over that stretch, and only when the
transition change is small enough for the arc to turn it into a gain (the arc costs of the stretch
bound what the arc can give back).

Reversed stretches are priced through prefix sums of the transitions along the tour, played
forwards and backwards, so a reversal of any length costs one subtraction (the sums are brought up to
date after every move).

Every kernel is compiled once by numba and cached on disk (``cache=True``); :func:`warm` compiles them
ahead (the container image does it at build time).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "BEST",
    "CUR",
    "KICKS",
    "MAX_RUN",
    "PHASE",
    "STATE_SIZE",
    "UNITS",
    "greedy_path",
    "search",
    "warm",
]

#: Longest run an Or-opt move carries.
MAX_RUN = 3
#: Improvements smaller than this are rounding, not gains.
EPS = 1e-9


@njit(cache=True, inline="always")
def _w(cost, a, b):
    """Cost of the transition a → b in float64 (the matrix may be float32)."""
    return np.float64(cost[a, b])


@njit(cache=True, inline="always")
def _target(x, ax, ay):
    """The arc's target energy at progress ``x`` (piecewise linear, flat beyond its ends)."""
    m = ax.shape[0]
    if x <= ax[0]:
        return ay[0]
    for k in range(1, m):
        if x <= ax[k]:
            span = ax[k] - ax[k - 1]
            if span <= 0.0:
                return ay[k]
            return ay[k - 1] + (ay[k] - ay[k - 1]) * (x - ax[k - 1]) / span
    return ay[m - 1]


@njit(cache=True, inline="always")
def _arc_at(node, start, energy, floor, total, ax, ay, weight):
    """Arc cost of ``node`` starting at ``start`` seconds: weight · (energy − target at its middle)²."""
    e = energy[node]
    if e != e:  # NaN: unknown energy fits anywhere
        return 0.0
    x = (start + 0.5 * floor[node]) / total if total > 0.0 else 0.0
    d = e - _target(x, ax, ay)
    return weight * d * d


@njit(cache=True)
def _refresh_arc(tour, lo, hi, energy, floor, total, ax, ay, weight, start, acost, apref):
    """Recompute start times and arc costs of positions lo..hi, and the prefix sums from lo on."""
    n = tour.shape[0] - 1
    if lo < 1:
        lo = 1
    t = start[lo - 1] + floor[tour[lo - 1]] if lo > 1 else 0.0
    for k in range(lo, hi + 1):
        node = tour[k]
        start[k] = t
        acost[k] = _arc_at(node, t, energy, floor, total, ax, ay, weight)
        t += floor[node]
    for k in range(lo, n + 1):
        apref[k] = apref[k - 1] + acost[k]


@njit(cache=True)
def _arc_delta(tour, lo, pieces, energy, floor, total, ax, ay, weight, start, apref):
    """Arc change when positions lo..hi are replaced by ``pieces`` (rows: from, to, step)."""
    t = start[lo]
    new = 0.0
    count = 0
    for r in range(pieces.shape[0]):
        a, b, step = pieces[r, 0], pieces[r, 1], pieces[r, 2]
        if step == 0:
            continue
        k = a
        while True:
            node = tour[k]
            new += _arc_at(node, t, energy, floor, total, ax, ay, weight)
            t += floor[node]
            count += 1
            if k == b:
                break
            k += step
    hi = lo + count - 1
    return new - (apref[hi] - apref[lo - 1])


@njit(cache=True)
def _rewrite(tour, pos, lo, pieces, buf):
    """Write ``pieces`` (rows: from, to, step over current positions) into positions lo.. of tour."""
    count = 0
    for r in range(pieces.shape[0]):
        a, b, step = pieces[r, 0], pieces[r, 1], pieces[r, 2]
        if step == 0:
            continue
        k = a
        while True:
            buf[count] = tour[k]
            count += 1
            if k == b:
                break
            k += step
    for m in range(count):
        tour[lo + m] = buf[m]
        pos[buf[m]] = lo + m
    return lo + count - 1


@njit(cache=True, inline="always")
def _succ(tour, pos, x, n):
    p = pos[x]
    return tour[p + 1] if p < n else tour[0]


@njit(cache=True, inline="always")
def _pred(tour, pos, x, n):
    p = pos[x]
    return tour[p - 1] if p > 0 else tour[n]


@njit(cache=True, inline="always")
def _set_piece(pieces, r, a, b, step):
    pieces[r, 0] = a
    pieces[r, 1] = b
    pieces[r, 2] = step


@njit(cache=True)
def _or_opt_pieces(i, j, g, rev, pieces):
    """Pieces and first position for moving run i..j into gap g (before position g), reversed or not."""
    if g <= i:  # the run moves earlier: run, then g..i-1
        if rev:
            _set_piece(pieces, 0, j, i, -1)
        else:
            _set_piece(pieces, 0, i, j, 1)
        _set_piece(pieces, 1, g, i - 1, 1)
        _set_piece(pieces, 2, 0, 0, 0)
        return g
    # the run moves later: j+1..g-1, then the run
    _set_piece(pieces, 0, j + 1, g - 1, 1)
    if rev:
        _set_piece(pieces, 1, j, i, -1)
    else:
        _set_piece(pieces, 1, i, j, 1)
    _set_piece(pieces, 2, 0, 0, 0)
    return i


@njit(cache=True)
def _refresh_sums(tour, cost, lo, sums):
    """Prefix sums of the transitions along the tour from position lo−1 on: row 0 as played,
    row 1 played backwards (``sums[r, k]`` sums the transitions between positions 0 … k)."""
    n = tour.shape[0] - 1
    k = max(lo - 1, 0)
    while k < n:
        a, b = tour[k], tour[k + 1]
        sums[0, k + 1] = sums[0, k] + _w(cost, a, b)
        sums[1, k + 1] = sums[1, k] + _w(cost, b, a)
        k += 1


@njit(cache=True, inline="always")
def _reversal(sums, i, j):
    """Change of the inner transitions of positions i..j when they are played backwards."""
    return (sums[1, j] - sums[1, i]) - (sums[0, j] - sums[0, i])


@njit(cache=True)
def _take(delta, lo, hi, best, pieces, best_pieces, tour, energy, floor, total, ax, ay, weight,
          start, apref):  # fmt: skip
    """A candidate move given by ``pieces`` over positions lo..hi: adds its arc change and keeps
    it when it beats ``best``. Returns the (possibly new) best delta and whether it was kept."""
    if weight > 0.0:
        delta += _arc_delta(tour, lo, pieces, energy, floor, total, ax, ay, weight, start, apref)
    if delta < best:
        best_pieces[:, :] = pieces
        return delta, True
    return best, False


@njit(cache=True)
def _improve_node(
    a, tour, pos, cost, cand_succ, cand_pred, sums,
    energy, floor, total, ax, ay, weight, start, apref, pieces, best_pieces,
):  # fmt: skip
    """The best improving move around track ``a``: (delta, first position, last position, units).

    A candidate's transition change is computed first; only when it could still win once the arc
    gives back at most the arc costs of the positions it rearranges (``apref``) is it priced whole.
    """
    n = tour.shape[0] - 1
    dummy = n
    arc_on = weight > 0.0
    best = -EPS
    best_lo = -1
    best_hi = -1
    units = 0
    k_succ = cand_succ.shape[1]
    k_pred = cand_pred.shape[1]
    pa = pos[a]

    # --- Or-opt: runs of 1..MAX_RUN tracks that start or end at a, to a gap near a candidate ----
    if a != dummy:
        for length in range(1, MAX_RUN + 1):
            for side in range(2):
                if side == 1 and length == 1:
                    break
                i = pa if side == 0 else pa - length + 1
                j = i + length - 1
                if i < 1 or j > n:
                    continue
                s = tour[i]
                e = tour[j]
                p = tour[i - 1]
                q = tour[j + 1] if j < n else tour[0]
                removed = _w(cost, p, s) + _w(cost, e, q) - _w(cost, p, q)
                flip = _reversal(sums, i, j)
                for variant in range(4):
                    rev = variant >= 2
                    if rev and length == 1:
                        break
                    # variant 0: u → s from cand_pred[s]; 1: e → v from cand_succ[e];
                    # 2: u → e (reversed) from cand_pred[e]; 3: s → v (reversed) from cand_succ[s]
                    head = e if rev else s  # first track of the run as played after the move
                    tail = s if rev else e
                    kk = k_pred if variant % 2 == 0 else k_succ
                    for c in range(kk):
                        if variant % 2 == 0:
                            u = cand_pred[head, c]
                            pu = pos[u]
                            if (pu >= i and pu <= j) or u == p:
                                continue
                            v = tour[pu + 1] if pu < n else tour[0]
                        else:
                            v = cand_succ[tail, c]
                            pv = pos[v]
                            if (pv >= i and pv <= j) or v == q:
                                continue
                            u = tour[pv - 1] if pv > 0 else tour[n]
                        units += 1
                        delta = _w(cost, u, head) + _w(cost, tail, v) - _w(cost, u, v) - removed
                        if rev:
                            delta += flip
                        pv = pos[v]
                        g = pv if pv > 0 else n + 1  # gap before position g
                        lo = g if g <= i else i
                        hi = j if g <= i else g - 1
                        bound = apref[hi] - apref[lo - 1] if arc_on else 0.0
                        if delta - bound < best:
                            _or_opt_pieces(i, j, g, rev, pieces)
                            best, kept = _take(delta, lo, hi, best, pieces, best_pieces, tour,
                                               energy, floor, total, ax, ay, weight, start,
                                               apref)  # fmt: skip
                            if kept:
                                best_lo, best_hi = lo, hi

    # --- segment swaps (or-3opt), LK-style: a first new transition from a candidate list with a
    # --- positive gain, the second from a candidate list, the third forced ------------------------
    a2 = _succ(tour, pos, a, n)
    c_a_a2 = _w(cost, a, a2)
    for cb in range(k_succ):
        b2 = cand_succ[a, cb]
        if b2 in (a2, a):
            continue
        g1 = c_a_a2 - _w(cost, a, b2)
        if g1 <= 0.0:
            continue
        pb2 = pos[b2] if b2 != dummy else n + 1
        c_a_b2 = c_a_a2 - g1
        if pb2 > pa + 1:
            b = tour[pb2 - 1]
            c_b_b2 = _w(cost, b, b2)
            if b2 != dummy:
                # S1 = a2..b, S2 = b2..c: play S2 then S1 (c → a2), or S2 then S1 backwards (c → b)
                for back in range(2):
                    target = b if back else a2
                    for cc in range(k_pred):
                        c = cand_pred[target, cc]
                        pc = pos[c]
                        if c == dummy or pc < pb2:
                            continue
                        c2 = tour[pc + 1] if pc < n else tour[0]
                        units += 1
                        if back:
                            delta = (c_a_b2 + _w(cost, c, b) + _w(cost, a2, c2)
                                     - c_a_a2 - c_b_b2 - _w(cost, c, c2)
                                     + _reversal(sums, pa + 1, pb2 - 1))  # fmt: skip
                        else:
                            delta = (c_a_b2 + _w(cost, c, a2) + _w(cost, b, c2)
                                     - c_a_a2 - c_b_b2 - _w(cost, c, c2))  # fmt: skip
                        lo, hi = pa + 1, pc
                        bound = apref[hi] - apref[lo - 1] if arc_on else 0.0
                        if delta - bound < best:
                            _set_piece(pieces, 0, pb2, pc, 1)
                            if back:
                                _set_piece(pieces, 1, pb2 - 1, pa + 1, -1)
                            else:
                                _set_piece(pieces, 1, pa + 1, pb2 - 1, 1)
                            _set_piece(pieces, 2, 0, 0, 0)
                            best, kept = _take(delta, lo, hi, best, pieces, best_pieces, tour,
                                               energy, floor, total, ax, ay, weight, start,
                                               apref)  # fmt: skip
                            if kept:
                                best_lo, best_hi = lo, hi
                # S1 = a2..x, S2 = x2..b2 with b2 last: play S2 backwards then S1 (x2 → a2)
                c2 = tour[pb2 + 1] if pb2 < n else tour[0]
                c_b2_c2 = _w(cost, b2, c2)
                for cc in range(k_pred):
                    x2 = cand_pred[a2, cc]
                    px2 = pos[x2]
                    if x2 == dummy or px2 <= pa + 1 or px2 > pb2:
                        continue
                    x = tour[px2 - 1]
                    units += 1
                    delta = (c_a_b2 + _w(cost, x2, a2) + _w(cost, x, c2)
                             - c_a_a2 - _w(cost, x, x2) - c_b2_c2
                             + _reversal(sums, px2, pb2))  # fmt: skip
                    lo, hi = pa + 1, pb2
                    bound = apref[hi] - apref[lo - 1] if arc_on else 0.0
                    if delta - bound < best:
                        _set_piece(pieces, 0, pb2, px2, -1)
                        _set_piece(pieces, 1, pa + 1, px2 - 1, 1)
                        _set_piece(pieces, 2, 0, 0, 0)
                        best, kept = _take(delta, lo, hi, best, pieces, best_pieces, tour,
                                           energy, floor, total, ax, ay, weight, start,
                                           apref)  # fmt: skip
                        if kept:
                            best_lo, best_hi = lo, hi
            # a = tour[j], b2 = tour[k+1]; x = tour[i] → a2 with i < j: play a2..c, then x2..a
            c_node = tour[pb2 - 1]  # tour[k]
            c_c_b2 = _w(cost, c_node, b2)
            for cc in range(k_pred):
                x = cand_pred[a2, cc]
                px = pos[x]
                if px >= pa:
                    continue
                x2 = tour[px + 1]
                units += 1
                delta = (_w(cost, x, a2) + _w(cost, c_node, x2) + c_a_b2
                         - _w(cost, x, x2) - c_a_a2 - c_c_b2)  # fmt: skip
                lo, hi = px + 1, pb2 - 1
                bound = apref[hi] - apref[lo - 1] if arc_on else 0.0
                if delta - bound < best:
                    _set_piece(pieces, 0, pa + 1, pb2 - 1, 1)
                    _set_piece(pieces, 1, px + 1, pa, 1)
                    _set_piece(pieces, 2, 0, 0, 0)
                    best, kept = _take(delta, lo, hi, best, pieces, best_pieces, tour,
                                       energy, floor, total, ax, ay, weight, start,
                                       apref)  # fmt: skip
                    if kept:
                        best_lo, best_hi = lo, hi
        elif pb2 >= 1 and a != dummy:
            # a = tour[k], b2 = tour[i+1]; y = tour[j] → a2 with i < j < k: play y2..a, then b2..y
            z = tour[pb2 - 1]
            c_z_b2 = _w(cost, z, b2)
            for cc in range(k_pred):
                y = cand_pred[a2, cc]
                py = pos[y]
                if y == dummy or py < pb2 or py >= pa:
                    continue
                y2 = tour[py + 1]
                units += 1
                delta = (_w(cost, z, y2) + c_a_b2 + _w(cost, y, a2)
                         - c_z_b2 - _w(cost, y, y2) - c_a_a2)  # fmt: skip
                lo, hi = pb2, pa
                bound = apref[hi] - apref[lo - 1] if arc_on else 0.0
                if delta - bound < best:
                    _set_piece(pieces, 0, py + 1, pa, 1)
                    _set_piece(pieces, 1, pb2, py, 1)
                    _set_piece(pieces, 2, 0, 0, 0)
                    best, kept = _take(delta, lo, hi, best, pieces, best_pieces, tour,
                                       energy, floor, total, ax, ay, weight, start,
                                       apref)  # fmt: skip
                    if kept:
                        best_lo, best_hi = lo, hi

    # --- 2-opt: a stretch played backwards, priced through the prefix sums ---------------------
    for side in range(2):
        kk = k_succ if side == 0 else k_pred
        for cb in range(kk):
            if side == 0:  # new transition a → b: positions pa+1 .. pb backwards
                b = cand_succ[a, cb]
                if b == dummy:
                    continue
                pb = pos[b]
                if pb <= pa + 1:
                    continue
                i, j = pa + 1, pb
            else:  # new transition z → a: positions pz .. pa−1 backwards
                if a == dummy:
                    break
                z = cand_pred[a, cb]
                if z == dummy:
                    continue
                pz = pos[z]
                if pz >= pa - 1 or pz < 1:
                    continue
                i, j = pz, pa - 1
            before, first, last = tour[i - 1], tour[i], tour[j]
            after = tour[j + 1] if j < n else tour[0]
            units += 1
            delta = (_w(cost, before, last) + _w(cost, first, after) - _w(cost, before, first)
                     - _w(cost, last, after) + _reversal(sums, i, j))  # fmt: skip
            bound = apref[j] - apref[i - 1] if arc_on else 0.0
            if delta - bound < best:
                _set_piece(pieces, 0, j, i, -1)
                _set_piece(pieces, 1, 0, 0, 0)
                _set_piece(pieces, 2, 0, 0, 0)
                best, kept = _take(delta, i, j, best, pieces, best_pieces, tour,
                                   energy, floor, total, ax, ay, weight, start,
                                   apref)  # fmt: skip
                if kept:
                    best_lo, best_hi = i, j
    return best, best_lo, best_hi, units


@njit(cache=True, inline="always")
def _push(queue, in_queue, q_head, q_len, node):
    """Queue ``node`` unless it is queued already; returns the new queue length."""
    if in_queue[node]:
        return q_len
    queue[(q_head + q_len) % queue.shape[0]] = node
    in_queue[node] = True
    return q_len + 1


@njit(cache=True)
def _push_ends(tour, lo, hi, pieces, queue, in_queue, q_head, q_len):
    """Queue the tracks whose transitions a rewrite of lo..hi by ``pieces`` changes."""
    n = tour.shape[0] - 1
    q_len = _push(queue, in_queue, q_head, q_len, tour[lo - 1])
    q_len = _push(queue, in_queue, q_head, q_len, tour[hi + 1] if hi < n else tour[0])
    for r in range(pieces.shape[0]):
        if pieces[r, 2] != 0:
            q_len = _push(queue, in_queue, q_head, q_len, tour[pieces[r, 0]])
            q_len = _push(queue, in_queue, q_head, q_len, tour[pieces[r, 1]])
    return q_len


@njit(cache=True)
def _local_search(
    tour, pos, cost, cand_succ, cand_pred, sums,
    energy, floor, total, ax, ay, weight, start, acost, apref,
    queue, in_queue, qs, buf, pieces, best_pieces, changed, max_units,
):  # fmt: skip
    """Apply improving moves around queued tracks until none is left or ``max_units`` are spent.

    ``qs`` holds the queue's head and length, kept between calls. Returns (gain, units).
    """
    n = tour.shape[0] - 1
    size = n + 1
    q_head, q_len = qs[0], qs[1]
    gain = 0.0
    units = 0
    arc_on = weight > 0.0
    while q_len > 0 and units < max_units:
        a = queue[q_head]
        q_head = (q_head + 1) % size
        q_len -= 1
        in_queue[a] = False
        delta, lo, hi, spent = _improve_node(
            a, tour, pos, cost, cand_succ, cand_pred, sums,
            energy, floor, total, ax, ay, weight, start, apref, pieces, best_pieces,
        )  # fmt: skip
        units += spent + 1
        if lo < 0:
            continue
        q_len = _push_ends(tour, lo, hi, best_pieces, queue, in_queue, q_head, q_len)
        q_len = _push(queue, in_queue, q_head, q_len, a)
        _rewrite(tour, pos, lo, best_pieces, buf)
        _refresh_sums(tour, cost, lo, sums)
        if arc_on:
            _refresh_arc(tour, lo, hi, energy, floor, total, ax, ay, weight, start, acost, apref)
        changed[0] = min(changed[0], lo)
        changed[1] = max(changed[1], hi)
        gain -= delta
    qs[0], qs[1] = q_head, q_len
    return gain, units


@njit(cache=True)
def _objective(tour, cost, energy, floor, total, ax, ay, weight):
    """Transition costs plus arc costs of a whole tour."""
    n = tour.shape[0] - 1
    value = 0.0
    t = 0.0
    for k in range(n + 1):
        a = tour[k]
        b = tour[k + 1] if k < n else tour[0]
        value += _w(cost, a, b)
        if k >= 1 and weight > 0.0:
            value += _arc_at(a, t, energy, floor, total, ax, ay, weight)
            t += floor[a]
    return value


@njit(cache=True, inline="always")
def _next_random(rng):
    """xorshift64* on rng[0]; a float in [0, 1)."""
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    return float((x * np.uint64(2685821657736338717)) >> np.uint64(11)) / 9007199254740992.0


#: Slots of the search state kept between calls (see :func:`search`).
STATE_SIZE = 9
CUR, BEST, UNITS, KICKS, PHASE, _QHEAD, _QLEN, _STALE, _PASS_GAIN = range(STATE_SIZE)


@njit(cache=True)
def search(
    tour, cost, cand_succ, cand_pred,
    energy, floor, total, ax, ay, weight,
    best_tour, saved, queue, in_queue, state, rng,
    max_units, max_kicks, kick_span, accept_worse, restart_after,
):  # fmt: skip
    """Descend to a local optimum, then kick and descend again, until a limit is reached.

    Everything the search needs to resume lives in the arrays passed in (the current tour, the
    best one, the last accepted one, the queue, ``state`` and ``rng``), so the sequence of moves and
    kicks is the same however the work is cut into calls. Stops when ``state`` counts
    ``max_units`` work units or ``max_kicks`` kicks. Returns the best objective.
    """
    n = tour.shape[0] - 1
    size = n + 1
    pos = np.empty(size, dtype=np.int64)
    for k in range(size):
        pos[tour[k]] = k
    start = np.zeros(size)
    acost = np.zeros(size)
    apref = np.zeros(size)
    arc_on = weight > 0.0
    if arc_on:
        _refresh_arc(tour, 1, n, energy, floor, total, ax, ay, weight, start, acost, apref)
    sums = np.zeros((2, size))
    _refresh_sums(tour, cost, 1, sums)
    buf = np.empty(size, dtype=np.int64)
    pieces = np.zeros((3, 3), dtype=np.int64)
    best_pieces = np.zeros((3, 3), dtype=np.int64)
    kick_pieces = np.zeros((3, 3), dtype=np.int64)
    changed = np.zeros(2, dtype=np.int64)
    qs = np.zeros(2, dtype=np.int64)

    while state[PHASE] == 0:  # the first descent: passes over every track until one finds nothing
        if state[_QLEN] == 0:
            for k in range(size):
                queue[k] = tour[k]
                in_queue[tour[k]] = True
            state[_QHEAD], state[_QLEN], state[_PASS_GAIN] = 0, size, 0.0
        qs[0], qs[1] = int(state[_QHEAD]), int(state[_QLEN])
        changed[0], changed[1] = size, -1
        gain, units = _local_search(
            tour, pos, cost, cand_succ, cand_pred, sums,
            energy, floor, total, ax, ay, weight, start, acost, apref,
            queue, in_queue, qs, buf, pieces, best_pieces, changed,
            max_units - state[UNITS],
        )  # fmt: skip
        state[UNITS] += units
        state[_QHEAD], state[_QLEN] = qs[0], qs[1]
        state[_PASS_GAIN] += gain
        state[CUR] = _objective(tour, cost, energy, floor, total, ax, ay, weight)
        state[BEST] = state[CUR]
        best_tour[:] = tour
        saved[:] = tour
        if qs[1] > 0:
            return state[BEST]  # the budget ran out mid-pass: the next call goes on
        if state[_PASS_GAIN] <= EPS:
            # a whole pass found nothing: a local optimum (don't-look bits alone can stop short)
            state[PHASE] = 1
    while state[UNITS] < max_units and state[KICKS] < max_kicks and n >= 4:
        state[KICKS] += 1
        # three neighbouring stretches B C D of 1..kick_span tracks each become D C B
        span = min(kick_span, n // 3)
        l1 = 1 + int(_next_random(rng) * span)
        l2 = 1 + int(_next_random(rng) * span)
        l3 = 1 + int(_next_random(rng) * span)
        room = n - (l1 + l2 + l3)
        p = int(_next_random(rng) * (room + 1))  # the stretches hold positions p+1 .. p+l1+l2+l3
        b0, c0, d0, d1 = p + 1, p + 1 + l1, p + 1 + l1 + l2, p + l1 + l2 + l3
        before = tour[p]
        after = tour[d1 + 1] if d1 < n else tour[0]
        delta = (
            _w(cost, before, tour[d0])
            + _w(cost, tour[d1], tour[c0])
            + _w(cost, tour[d0 - 1], tour[b0])
            + _w(cost, tour[c0 - 1], after)
            - _w(cost, before, tour[b0])
            - _w(cost, tour[c0 - 1], tour[c0])
            - _w(cost, tour[d0 - 1], tour[d0])
            - _w(cost, tour[d1], after)
        )
        _set_piece(kick_pieces, 0, d0, d1, 1)
        _set_piece(kick_pieces, 1, c0, d0 - 1, 1)
        _set_piece(kick_pieces, 2, b0, c0 - 1, 1)
        if arc_on:
            delta += _arc_delta(
                tour, b0, kick_pieces, energy, floor, total, ax, ay, weight, start, apref
            )
        qs[0], qs[1] = 0, 0
        qs[1] = _push_ends(tour, b0, d1, kick_pieces, queue, in_queue, 0, 0)
        _rewrite(tour, pos, b0, kick_pieces, buf)
        _refresh_sums(tour, cost, b0, sums)
        if arc_on:
            _refresh_arc(tour, b0, d1, energy, floor, total, ax, ay, weight, start, acost, apref)
        changed[0], changed[1] = b0, d1
        gain, units = _local_search(
            tour, pos, cost, cand_succ, cand_pred, sums,
            energy, floor, total, ax, ay, weight, start, acost, apref,
            queue, in_queue, qs, buf, pieces, best_pieces, changed,
            max_units - state[UNITS],
        )  # fmt: skip
        while qs[1] > 0:  # a search cut short by the budget leaves tracks queued
            in_queue[queue[qs[0]]] = False
            qs[0] = (qs[0] + 1) % size
            qs[1] -= 1
        state[UNITS] += units + 1
        value = state[CUR] + delta - gain
        lo, hi = changed[0], changed[1]
        if value < state[BEST] - EPS:
            state[BEST] = value
            state[CUR] = value
            best_tour[:] = tour
            saved[lo : hi + 1] = tour[lo : hi + 1]
            state[_STALE] = 0
        elif value < state[CUR] + accept_worse and state[_STALE] < restart_after:
            # taken as the new base although not better: it lets the search cross ridges
            state[CUR] = value
            saved[lo : hi + 1] = tour[lo : hi + 1]
            state[_STALE] += 1
        else:
            state[_STALE] += 1
            if state[_STALE] >= restart_after:
                tour[:] = best_tour
                saved[:] = best_tour
                lo, hi = 1, n
                state[CUR] = state[BEST]
                state[_STALE] = 0
            else:
                tour[lo : hi + 1] = saved[lo : hi + 1]
            for k in range(lo, hi + 1):
                pos[tour[k]] = k
            _refresh_sums(tour, cost, lo, sums)
            if arc_on:
                _refresh_arc(
                    tour, lo, hi, energy, floor, total, ax, ay, weight, start, acost, apref
                )
    return state[BEST]


@njit(cache=True)
def greedy_path(cost, first, last, energy, floor, total, ax, ay, weight):
    """Nearest neighbour from ``first`` (−1: the cheapest opening), ``last`` (−1: free) kept for the end.

    The next track is the cheapest transition plus its arc cost at the time it would start.
    ``cost`` is the padded matrix (the dummy last). Returns the tour with the dummy at position 0.
    """
    n = cost.shape[0] - 1
    tour = np.empty(n + 1, dtype=np.int64)
    tour[0] = n
    free = np.empty(n, dtype=np.int64)  # the tracks not placed yet, in free[:count]
    count = 0
    for x in range(n):
        if x != last:
            free[count] = x
            count += 1
    cur = n
    t = 0.0
    k = 1
    while count > 0:
        best = np.inf
        pick = 0
        for i in range(count):
            x = free[i]
            if k == 1 and first >= 0:
                if x == first:
                    pick = i
                    break
                continue
            value = _w(cost, cur, x)
            if weight > 0.0:
                value += _arc_at(x, t, energy, floor, total, ax, ay, weight)
            if value < best:
                best = value
                pick = i
        nxt = free[pick]
        count -= 1
        free[pick] = free[count]
        tour[k] = nxt
        k += 1
        t += floor[nxt]
        cur = nxt
    if last >= 0:
        tour[n] = last
    return tour


def warm() -> None:
    """Compile (or load from the on-disk cache) every kernel for both matrix types, on a tiny problem."""
    n = 8
    energy = np.arange(n + 1, dtype=float)
    floor = np.full(n + 1, 300.0)
    ax, ay = np.array([0.0, 1.0]), np.array([3.0, 8.0])
    for dtype in (np.float64, np.float32):
        cost = np.random.default_rng(0).random((n + 1, n + 1)).astype(dtype)
        cand = np.argsort(cost, axis=1)[:, :3].astype(np.int64)
        for weight in (0.0, 0.05):
            tour = greedy_path(cost, -1, -1, energy, floor, 2400.0, ax, ay, weight)
            search(
                tour, cost, cand, cand, energy, floor, 2400.0, ax, ay, weight,
                tour.copy(), tour.copy(), np.empty(n + 1, dtype=np.int64),
                np.zeros(n + 1, dtype=np.bool_), np.zeros(STATE_SIZE),
                np.array([88172645463325252], dtype=np.uint64), 10_000.0, 5, 2, 0.0, 10,
            )  # fmt: skip
