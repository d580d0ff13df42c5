"""The synapses of a mapped network, in the layouts the modes read (built once, then only read).

- Tick modes: per projection, the weights for one vectorized current per
  phase (:meth:`Synapses.currents`); per (source core, destination core)
  pair, the packets a phase sends (:class:`CorePairs`).
- Async mode: per (source neuron, destination core), the targets and weights
  one packet integrates (:attr:`Synapses.rows`, built on first use).

Recurrent synapses (delay 1) are kept apart: the tick modes leave them out of
the last timestep's packets (``pairs_ff``), and async mode sends them at the
next timestep (``dst_rec``, ``rows_rec``).

Where the network has sparse or convolutional projections (``Projection.kind``),
which a profile may price apart from dense ones, the layouts also count them:
``fan`` has a block of columns per such kind, and :meth:`Synapses.kinds_of_core`
gives each packet's counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import InputError

__all__ = ["KINDS_APART", "NO_KINDS", "CorePairs", "Synapses", "synapses_per_core"]

KINDS_APART = ("sparse", "conv")  # the projection kinds a profile may price apart from dense ones, in this order
NO_KINDS = (0, 0)  # a packet none of whose synapses is of those kinds


@dataclass
class CorePairs:
    """The packets of a set of synapses, per (source core, destination core) pair (tick modes)."""

    src: np.ndarray  # source core of each pair
    dst: np.ndarray  # destination core of each pair
    src_list: list
    dst_list: list
    routes: list  # the NoC route of each pair
    fan: object  # sources x (pairs + cores * (1 + kinds)): packets per pair, synapses per core (then those of
    # each of Synapses.kinds per core); dense or CSR
    dst_cores: list  # per source neuron, the cores it sends to
    n_dst: np.ndarray  # per source neuron, how many cores it sends to


def synapses_per_core(weights: sp.csr_matrix, core_of: np.ndarray, n_cores: int) -> np.ndarray:
    """Synapses whose target neuron sits on each core."""
    cols = weights.indices
    return np.bincount(core_of[cols], minlength=n_cores) if len(cols) else np.zeros(n_cores, int)


class Synapses:
    """A network's synapses laid out for the mapping ``core_of`` over ``n_cores`` cores, routed on ``topo``."""

    def __init__(self, net, hw, core_of: np.ndarray, n_cores: int, topo):
        self.net, self.core_of, self.n_cores, self.topo = net, core_of, n_cores, topo
        n = net.n_neurons
        w_all = net.global_weights()
        self.per_core = synapses_per_core(w_all, core_of, n_cores)
        cap = hw.core.max_synapses
        if cap is not None and self.per_core.max(initial=0) > cap:
            c = int(self.per_core.argmax())
            raise InputError(hw.path, "core.max_synapses",
                             f"core {c} gets {self.per_core[c]} synapses; the limit is {cap}")
        # Per projection: source and target ranges, weights (src x dst) dense when mostly full.
        offs = net.offsets
        self._proj = []
        for pr in net.projections:
            wt = pr.weights
            dense = wt.nnz > 0.25 * wt.shape[0] * wt.shape[1]
            self._proj.append((int(offs[pr.src]), int(offs[pr.src + 1]), int(offs[pr.dst]), int(offs[pr.dst + 1]),
                               wt.toarray() if dense else wt.tocsr(), pr.delay))
        # Per projection: every (source, target) pair weighted, so any spike reaches every target.
        self._full = [isinstance(w, np.ndarray) and bool(np.all(w != 0)) for *_, w, _ in self._proj]
        self._covers: dict[tuple[int, int], list | None] = {}  # reach_all's sources, per neuron range
        # The kinds other than dense that this network has and the profile prices apart (``sparse``, ``conv``):
        # each gets its own counts. A kind the profile does not price is counted as dense, which it costs.
        own = {"sparse": hw.core.sparse_synapse, "conv": hw.core.conv_synapse}
        self.kinds = tuple(k for k in KINDS_APART if own[k] is not None and any(pr.kind == k for pr in net.projections))
        self.pairs = self._pairs(w_all, None)
        self.has_recurrent = any(pr.delay for pr in net.projections)
        w_ff = net.global_weights(delay=0) if self.has_recurrent else w_all
        self.pairs_ff = self._pairs(w_ff, 0) if self.has_recurrent else self.pairs
        self._w, self.dst_cores, self.n_dst = w_ff, self.pairs_ff.dst_cores, self.pairs_ff.n_dst
        self._w_rec, self.dst_rec, self.n_dst_rec = None, [()] * n, np.zeros(n, np.int64)
        if self.has_recurrent:
            self._w_rec = net.global_weights(delay=1)
            rec = self._pairs(self._w_rec, 1)
            self.dst_rec, self.n_dst_rec = rec.dst_cores, rec.n_dst
        self._rows: list[dict] | None = None
        self._rows_rec: list[dict] | None = None
        self._by_core: list[tuple[dict, dict]] | None = None
        self._kinds_by_core: list[tuple[dict, dict]] | None = None
        self._per_core_cache: dict[tuple, np.ndarray] = {}

    def _fan(self, w: sp.csr_matrix) -> sp.csr_matrix:
        """Sources x cores: how many of the synapses ``w`` each source has on each core."""
        rows, cols = w.nonzero()
        fan = sp.csr_matrix((np.ones(len(rows)), (rows, self.core_of[cols])), shape=(w.shape[0], self.n_cores))
        fan.sum_duplicates()
        return fan

    def _pairs(self, w: sp.csr_matrix, delay: int | None) -> CorePairs:
        """The (source core, destination core) pairs that carry the packets of synapses ``w`` (the
        projections with ``delay``, or all), sorted; per phase, one product with ``fan`` counts the
        packets per pair and the synapses per core."""
        n, n_cores, core_of = w.shape[0], self.n_cores, self.core_of
        fan = self._fan(w)
        has = fan.copy()  # sources x cores: 1 where the source sends a packet to that core
        has.data[:] = 1.0
        has.sort_indices()
        senders = has.nonzero()[0]
        keys = core_of[senders] * n_cores + has.indices
        pair_keys = np.unique(keys)
        src, dst = pair_keys // n_cores, pair_keys % n_cores
        pair_of = np.searchsorted(pair_keys, keys)
        per_pair = sp.csr_matrix((np.ones(len(pair_of)), (senders, pair_of)), shape=(n, len(pair_keys)))
        by_kind = [self._fan(self.net.global_weights(delay, kind)) for kind in self.kinds]
        pair_fan = sp.hstack([per_pair, fan, *by_kind]).tocsr()  # sources x (pairs + cores * (1 + kinds))
        small = pair_fan.shape[0] * pair_fan.shape[1] <= 2_000_000
        src_list, dst_list = src.tolist(), dst.tolist()
        return CorePairs(src, dst, src_list, dst_list, [self.topo.route(a, b) for a, b in zip(src_list, dst_list)],
                         pair_fan.toarray() if small else pair_fan,  # dense rows are cheap to gather
                         [tuple(has.indices[has.indptr[s]:has.indptr[s + 1]].tolist()) for s in range(n)],
                         np.diff(has.indptr).astype(np.int64))

    def _row_table(self, w: sp.csr_matrix, dst_cores) -> list[dict]:
        """``table[s][c]`` = (targets, weights) of source s on core c."""
        core_of = self.core_of
        table = [{} for _ in range(w.shape[0])]
        for s in range(w.shape[0]):
            lo, hi = w.indptr[s], w.indptr[s + 1]
            tg, wt = w.indices[lo:hi].astype(np.int64), w.data[lo:hi]
            cores = core_of[tg]
            for c in dst_cores[s]:
                sel = cores == c
                t = tg[sel]
                contiguous = t[-1] - t[0] + 1 == len(t)
                table[s][c] = (slice(int(t[0]), int(t[-1]) + 1) if contiguous else t, wt[sel])
        return table

    @property
    def rows(self) -> list[dict]:
        """``rows[s][c]`` = (targets, weights) of source s on core c, feed-forward (built on first use).

        The targets are a slice when contiguous (dense layers), so a packet integrates into a view."""
        if self._rows is None:
            self._rows = self._row_table(self._w, self.dst_cores)
        return self._rows

    @property
    def rows_rec(self) -> list[dict]:
        """The same for the recurrent synapses (delay 1)."""
        if self._rows_rec is None:
            self._rows_rec = self._row_table(self._w_rec, self.dst_rec)
        return self._rows_rec

    def rows_of_core(self, core: int) -> tuple[dict, dict]:
        """``({s: (targets, weights)}, the same for the recurrent synapses)`` of the sources that
        reach ``core``: what async mode's packets for that core integrate, one lookup each."""
        if self._by_core is None:
            ff = [{} for _ in range(self.n_cores)]
            rec = [{} for _ in range(self.n_cores)]
            for table, out in ((self.rows, ff), (self.rows_rec if self.has_recurrent else [], rec)):
                for s, per_core in enumerate(table):
                    for c, row in per_core.items():
                        out[c][s] = row
            self._by_core = list(zip(ff, rec))
        return self._by_core[core]

    def kinds_of_core(self, core: int) -> tuple[dict, dict]:
        """``({s: (sparse, conv)}, the same for the recurrent synapses)``: how many of the synapses of each
        source that reaches ``core`` are of a sparse and of a convolutional projection priced apart
        (:attr:`kinds`; a source missing has none: :data:`NO_KINDS`). What async mode's packets count."""
        if self._kinds_by_core is None:
            tables = []
            for delay in (0, 1):
                per_core = [{} for _ in range(self.n_cores)]
                for k, kind in enumerate(KINDS_APART):
                    if kind not in self.kinds:
                        continue
                    fan = self._fan(self.net.global_weights(delay, kind)).tocsc()  # sources x cores
                    for c in range(self.n_cores):
                        lo, hi = fan.indptr[c], fan.indptr[c + 1]
                        for s, n in zip(fan.indices[lo:hi].tolist(), fan.data[lo:hi].tolist()):
                            counts = list(per_core[c].get(s, NO_KINDS))
                            counts[k] = int(n)
                            per_core[c][s] = tuple(counts)
                tables.append(per_core)
            self._kinds_by_core = list(zip(*tables))
        return self._kinds_by_core[core]

    def reach_all(self, s_in: np.ndarray, lo: int, hi: int) -> bool:
        """Whether the spikes ``s_in`` reach every neuron of ``lo:hi`` through a fully weighted feed-forward
        projection (a two-tier profile then updates them all, without asking which were hit)."""
        key = (lo, hi)
        if key not in self._covers:  # per target population in the range, the sources of a full projection
            full_from = {(d_lo, d_hi): (s_lo, s_hi) for (s_lo, s_hi, d_lo, d_hi, _, delay), full
                         in zip(self._proj, self._full) if full and not delay}
            offs = self.net.offsets
            pops = [(int(a), int(b)) for a, b in zip(offs[:-1], offs[1:]) if lo <= a and b <= hi]
            self._covers[key] = [full_from[p] for p in pops] if all(p in full_from for p in pops) else None
        covers = self._covers[key]
        return covers is not None and all(s_in[a:b].any() for a, b in covers)

    def currents(self, s_in: np.ndarray, lo: int, hi: int, touched: bool, s_rec: np.ndarray | None = None):
        """Synaptic current into neurons ``lo:hi`` from the spike counts ``s_in`` (and, through
        the recurrent projections, from ``s_rec``, the previous timestep's spikes).

        Works projection by projection: dense projections as one product,
        sparse ones through the CSR rows of the spiking sources.
        With ``touched``, also returns which of the neurons received a spike.
        """
        cur = np.zeros(hi - lo)
        hit = np.zeros(hi - lo, bool) if touched else None
        for (s_lo, s_hi, d_lo, d_hi, w, delay), full in zip(self._proj, self._full):
            if d_lo < lo or d_hi > hi or (delay and s_rec is None):
                continue
            s = (s_rec if delay else s_in)[s_lo:s_hi]
            if isinstance(w, np.ndarray):
                cur[d_lo - lo:d_hi - lo] += s @ w
                if touched and full:  # one spike reaches every target
                    if s.any():
                        hit[d_lo - lo:d_hi - lo] = True
                elif touched:
                    hit[d_lo - lo:d_hi - lo] |= (w[np.flatnonzero(s)] != 0).any(axis=0)
                continue
            src = np.flatnonzero(s)
            if len(src):
                rows = w[src]
                cur[d_lo - lo:d_hi - lo] += rows.T @ s[src]
                if touched:
                    hit[d_lo - lo:d_hi - lo][np.unique(rows.indices)] = True
        return cur, hit

    def neurons_per_core(self, lo: int, hi: int) -> np.ndarray:
        """How many of the neurons ``lo:hi`` each core holds (cached: the phases ask every timestep)."""
        key = (lo, hi)
        if key not in self._per_core_cache:
            self._per_core_cache[key] = np.bincount(self.core_of[lo:hi], minlength=self.n_cores).astype(float)
        return self._per_core_cache[key]
