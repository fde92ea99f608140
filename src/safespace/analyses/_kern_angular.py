"""The angular-analysis kernels of :mod:`safespace.analyses.space_syntax` (private).

Numba kernels on the segment map's state graph (CSR ``ptr``/``to``, quantised angular cost
``acost`` and metric cost ``mcost``): :func:`_zero_rank` (ordering zero-cost steps so ties
are exact), :func:`_kernel` (per origin, a metric Dijkstra bounded by the largest radius,
then an angular Dijkstra per radius with Brandes' path counting and dependency
accumulation) and :func:`_closeness_kernel` (node count and total depth only), each with
its small-input interpreted path (:func:`~safespace.analyses._jit.tiered`). Costs are in
each docstring and in the docstring of :mod:`.space_syntax`.
"""

from __future__ import annotations

import numba
import numpy as np

from safespace.analyses._jit import tiered


def _work_zero_rank(ptr, to, cost, n):
    # O(states + transitions); interpreted: about 1 µs each
    return ptr.size + to.size


def _work_kernel(ptr, to, *_):
    # states × transitions bounds the searches of all origins; interpreted: about 7 µs a unit
    return (ptr.size - 1) * to.size


@tiered(_work_zero_rank, 20_000)
@numba.njit(cache=True)
def _zero_rank(ptr, to, cost, n):
    """Topological rank of states in the graph of zero-cost steps (Kahn); others keep order."""
    indeg = np.zeros(n, np.int64)
    for s in range(n):
        for k in range(ptr[s], ptr[s + 1]):
            if cost[k] == 0:
                indeg[to[k]] += 1
    queue = np.empty(n, np.int64)
    head = 0
    tail = 0
    for s in range(n):
        if indeg[s] == 0:
            queue[tail] = s
            tail += 1
    rank = np.full(n, -1, np.int64)
    r = 0
    while head < tail:
        s = queue[head]
        head += 1
        rank[s] = r
        r += 1
        for k in range(ptr[s], ptr[s + 1]):
            if cost[k] == 0:
                w = to[k]
                indeg[w] -= 1
                if indeg[w] == 0:
                    queue[tail] = w
                    tail += 1
    for s in range(n):  # a zero-cost cycle (degenerate geometry): rank arbitrarily
        if rank[s] < 0:
            rank[s] = r
            r += 1
    return rank


@numba.njit(cache=True, inline="always")
def _push(hk, hv, size, key, val):
    i = size
    hk[i] = key
    hv[i] = val
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= hk[i]:
            break
        hk[p], hk[i] = hk[i], hk[p]
        hv[p], hv[i] = hv[i], hv[p]
        i = p
    return size + 1


@numba.njit(cache=True, inline="always")
def _pop(hk, hv, size):
    key = hk[0]
    val = hv[0]
    size -= 1
    hk[0] = hk[size]
    hv[0] = hv[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[i] <= hk[c]:
            break
        hk[c], hk[i] = hk[i], hk[c]
        hv[c], hv[i] = hv[i], hv[c]
        i = c
    return key, val, size


@tiered(_work_kernel, 12_000)  # small layouts (the demo estate: 8,540) run interpreted
@numba.njit(cache=True, parallel=True)
def _kernel(ptr, to, acost, mcost, length, zrank, radii, do_choice, n_chunks):
    n_seg = length.shape[0]
    n_st = 2 * n_seg
    n_r = radii.shape[0]
    nc = np.zeros((n_r, n_seg))
    td = np.zeros((n_r, n_seg))
    reach = np.zeros((n_r, n_seg))
    ch_acc = np.zeros((n_chunks, n_r, n_seg))
    rmax = 0.0
    for k in range(n_r):
        if np.isfinite(radii[k]) and radii[k] > rmax:
            rmax = radii[k]
    has_finite = rmax > 0.0
    n_tr = ptr[n_st]
    big = np.iinfo(np.int64).max
    for c in numba.prange(n_chunks):
        hk = np.empty(n_tr + 4, np.float64)
        hv = np.empty(n_tr + 4, np.int64)
        mdist = np.full(n_st, np.inf)
        dm = np.full(n_seg, np.inf)
        adist = np.full(n_st, big, np.int64)
        sigma = np.zeros(n_st)
        g = np.zeros(n_st)
        wgt = np.zeros(n_st)
        settled = np.zeros(n_st, np.bool_)
        order = np.empty(n_st, np.int64)
        mtouched = np.empty(n_st, np.int64)
        segbest = np.full(n_seg, big, np.int64)
        segsig = np.zeros(n_seg)
        for src in range(c, n_seg, n_chunks):
            # ---- metric catchment (midpoint distances), bounded by the largest finite radius
            n_mt = 0
            if has_finite:
                size = 0
                for e in range(2):
                    s0 = 2 * src + e
                    mdist[s0] = 0.0
                    mtouched[n_mt] = s0
                    n_mt += 1
                    size = _push(hk, hv, size, 0.0, s0)
                while size > 0:
                    d, s, size = _pop(hk, hv, size)
                    if settled[s] or d > mdist[s]:
                        continue
                    settled[s] = True
                    sg = s >> 1
                    if d < dm[sg]:
                        dm[sg] = d
                    for k in range(ptr[s], ptr[s + 1]):
                        w = to[k]
                        nd = d + mcost[k]
                        if nd <= rmax and nd < mdist[w]:
                            if mdist[w] == np.inf:
                                mtouched[n_mt] = w
                                n_mt += 1
                            mdist[w] = nd
                            size = _push(hk, hv, size, nd, w)
                for q in range(n_mt):
                    settled[mtouched[q]] = False
            for r in range(n_r):
                rad = radii[r]
                inf_r = not np.isfinite(rad)
                # ---- least-angle search inside the catchment, with path counts
                n_ord = 0
                size = 0
                for e in range(2):
                    s0 = 2 * src + e
                    adist[s0] = 0
                    sigma[s0] = 1.0
                    size = _push(hk, hv, size, float(zrank[s0]), s0)
                while size > 0:
                    key, s, size = _pop(hk, hv, size)
                    if settled[s]:
                        continue
                    settled[s] = True
                    order[n_ord] = s
                    n_ord += 1
                    ds = adist[s]
                    for k in range(ptr[s], ptr[s + 1]):
                        w = to[k]
                        if not inf_r and not (dm[w >> 1] <= rad):
                            continue
                        nd = ds + acost[k]
                        if nd < adist[w]:
                            adist[w] = nd
                            sigma[w] = sigma[s]
                            size = _push(hk, hv, size, float(nd) * n_st + zrank[w], w)
                        elif nd == adist[w] and not settled[w]:
                            sigma[w] += sigma[s]
                # ---- closeness and reach per segment (best of its two states)
                for q in range(n_ord):
                    s = order[q]
                    sg = s >> 1
                    if adist[s] < segbest[sg]:
                        segbest[sg] = adist[s]
                        segsig[sg] = sigma[s]
                    elif adist[s] == segbest[sg]:
                        segsig[sg] += sigma[s]
                cnt = 0.0
                tot = 0.0
                rch = 0.0
                for q in range(n_ord):
                    s = order[q]
                    sg = s >> 1
                    if segbest[sg] >= 0 and adist[s] == segbest[sg]:
                        if (s & 1) == 0 or adist[s - 1] != adist[s] or not settled[s - 1]:
                            # count each segment once (its first best state)
                            cnt += 1.0
                            tot += segbest[sg]
                            rch += length[sg]
                        if sg != src:
                            wgt[s] = 1.0 / segsig[sg]
                nc[r, src] = cnt
                td[r, src] = tot
                reach[r, src] = rch
                # ---- Brandes accumulation over the least-angle DAG
                if do_choice:
                    for q in range(n_ord - 1, -1, -1):
                        s = order[q]
                        acc = wgt[s]
                        ds = adist[s]
                        for k in range(ptr[s], ptr[s + 1]):
                            w = to[k]
                            if settled[w] and adist[w] == ds + acost[k]:
                                if inf_r or dm[w >> 1] <= rad:
                                    acc += g[w]
                        g[s] = acc
                        sg = s >> 1
                        if sg != src:
                            ch_acc[c, r, sg] += sigma[s] * (acc - wgt[s])
                # ---- reset the touched states
                for q in range(n_ord):
                    s = order[q]
                    sg = s >> 1
                    settled[s] = False
                    adist[s] = big
                    sigma[s] = 0.0
                    g[s] = 0.0
                    wgt[s] = 0.0
                    segbest[sg] = big
                    segsig[sg] = 0.0
            for q in range(n_mt):
                s = mtouched[q]
                mdist[s] = np.inf
                dm[s >> 1] = np.inf
    ch = np.zeros((n_r, n_seg))
    for c in range(n_chunks):
        ch += ch_acc[c]
    return nc, td, ch, reach


@numba.njit(cache=True, inline="always")
def _push4(hk, hv, size, key, val):
    """Push onto a 4-ary min-heap (keys ``hk``, values ``hv``); returns the new size."""
    i = size
    while i > 0:
        p = (i - 1) >> 2
        if hk[p] <= key:
            break
        hk[i] = hk[p]
        hv[i] = hv[p]
        i = p
    hk[i] = key
    hv[i] = val
    return size + 1


@numba.njit(cache=True, inline="always")
def _pop4(hk, hv, size):
    """Pop the least key of a 4-ary min-heap: (key, value, new size)."""
    key = hk[0]
    val = hv[0]
    size -= 1
    lk = hk[size]
    lv = hv[size]
    i = 0
    while True:
        c = 4 * i + 1
        if c >= size:
            break
        m = c
        mk = hk[c]
        for j in range(c + 1, min(c + 4, size)):
            if hk[j] < mk:
                mk = hk[j]
                m = j
        if lk <= mk:
            break
        hk[i] = mk
        hv[i] = hv[m]
        i = m
    hk[i] = lk
    hv[i] = lv
    return key, val, size


@tiered(_work_kernel, 12_000)
@numba.njit(cache=True, parallel=True)
def _closeness_kernel(ptr, to, acost, mcost, indeg, rad, n_chunks):
    n_st = ptr.shape[0] - 1
    n_seg = n_st // 2
    nc = np.zeros(n_seg)
    td = np.zeros(n_seg)
    finite = np.isfinite(rad)
    n_tr = ptr[n_st]
    big = np.iinfo(np.int64).max
    for c in numba.prange(n_chunks):
        hk = np.empty(n_tr + 4, np.float64)
        hv = np.empty(n_tr + 4, np.int64)
        stack = np.empty(n_st, np.int64)
        mdist = np.full(n_st, np.inf)
        dm = np.full(n_seg, np.inf)
        adist = np.full(n_st, big, np.int64)
        settled = np.zeros(n_st, np.bool_)
        order = np.empty(n_st, np.int64)
        mtouched = np.empty(n_st, np.int64)
        segbest = np.full(n_seg, big, np.int64)
        for src in range(c, n_seg, n_chunks):
            # ---- metric catchment (midpoint distances), bounded by the radius
            n_mt = 0
            if finite:
                size = 0
                for e in range(2):
                    s0 = 2 * src + e
                    mdist[s0] = 0.0
                    mtouched[n_mt] = s0
                    n_mt += 1
                    size = _push4(hk, hv, size, 0.0, s0)
                while size > 0:
                    d, s, size = _pop4(hk, hv, size)
                    if settled[s] or d > mdist[s]:
                        continue
                    settled[s] = True
                    stack[0] = s
                    top = 1
                    while top > 0:
                        top -= 1
                        u = stack[top]
                        du = mdist[u]
                        sg = u >> 1
                        if du < dm[sg]:
                            dm[sg] = du
                        for k in range(ptr[u], ptr[u + 1]):
                            w = to[k]
                            nd = du + mcost[k]
                            if nd <= rad and nd < mdist[w]:
                                if mdist[w] == np.inf:
                                    mtouched[n_mt] = w
                                    n_mt += 1
                                mdist[w] = nd
                                if indeg[w] == 1:  # u is its only way in: final now
                                    settled[w] = True
                                    stack[top] = w
                                    top += 1
                                else:
                                    size = _push4(hk, hv, size, nd, w)
                for q in range(n_mt):
                    settled[mtouched[q]] = False
            # ---- least-angle search inside the catchment
            n_ord = 0
            size = 0
            for e in range(2):
                s0 = 2 * src + e
                adist[s0] = 0
                size = _push4(hk, hv, size, 0.0, s0)
            while size > 0:
                key, s, size = _pop4(hk, hv, size)
                if settled[s] or key > adist[s]:
                    continue
                settled[s] = True
                stack[0] = s
                top = 1
                while top > 0:
                    top -= 1
                    u = stack[top]
                    order[n_ord] = u
                    n_ord += 1
                    du = adist[u]
                    for k in range(ptr[u], ptr[u + 1]):
                        w = to[k]
                        if finite and not (dm[w >> 1] <= rad):
                            continue
                        nd = du + acost[k]
                        if nd < adist[w]:
                            adist[w] = nd
                            if indeg[w] == 1:
                                settled[w] = True
                                stack[top] = w
                                top += 1
                            else:
                                size = _push4(hk, hv, size, float(nd), w)
            # ---- closeness per segment (best of its two states)
            cnt = 0
            tot = 0
            for q in range(n_ord):
                s = order[q]
                sg = s >> 1
                if segbest[sg] == big:
                    cnt += 1
                    segbest[sg] = adist[s]
                elif adist[s] < segbest[sg]:
                    segbest[sg] = adist[s]
            for q in range(n_ord):
                s = order[q]
                sg = s >> 1
                if segbest[sg] != big:
                    tot += segbest[sg]
                    segbest[sg] = big
                settled[s] = False
                adist[s] = big
            nc[src] = cnt
            td[src] = tot
            for q in range(n_mt):
                s = mtouched[q]
                mdist[s] = np.inf
                dm[s >> 1] = np.inf
    return nc, td
