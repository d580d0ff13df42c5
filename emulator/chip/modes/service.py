"""One packet's service on a core in async mode: threshold its targets, price it, count it, send its spikes;
and the timeouts of event input.

Shared by async mode's general path (``asyncmode``) and its fast path
(``async_fast``), so that both do the same floating-point work in the same order.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ...model import SUBTRACT_NEXT, after_spike, fire

__all__ = ["threshold", "price", "service_time", "finish", "count", "input_timeouts"]


def threshold(chip, idx, vv):
    """Fire the neurons of ``idx`` (slice or indices; potentials ``vv``) above threshold.

    Returns (fired neurons, their overshoot ``V - theta`` before the reset), or
    (None, None); the overshoot is the spikes' priority under ``momentum``.
    With refractory-until-next-timestep a fired neuron's potential is parked
    at -inf (its reset value kept in ``chip.parked``), so later input is
    discarded and it cannot fire again, with no masking on the hot path.
    """
    theta, conv = chip.theta, chip.conv
    at = conv["at_threshold"]
    f = fire(vv, theta[idx], at if np.isscalar(at) else at[idx])
    if not np.count_nonzero(f):
        return None, None
    loc = f.nonzero()[0]
    fired = idx.start + loc if isinstance(idx, slice) else idx[loc]
    overshoot = vv[loc] - theta[fired]
    subtract = chip.subtract_all  # True or False when one reset rule holds for every neuron
    after = after_spike(overshoot, chip.subtract[fired] if subtract is None else subtract)
    if chip.resets_next or chip.drops_input:
        after = next_step_resets(chip, fired, vv[loc], after)
    if chip.refractory:
        chip.parked[fired] = after
        chip.V[fired] = -np.inf
    else:
        chip.V[fired] = after
    return fired, overshoot  # counted in chip.spike_count when they leave (Chip.emit)


def next_step_resets(chip, fired: np.ndarray, v: np.ndarray, after):
    """Resets that act at the next timestep: a ``subtract-next`` neuron keeps its potential and
    owes ``theta`` to the next leak; a zero reset that drops the next input blocks the neuron
    through the next timestep (see :func:`_leak`). Returns the potential each fired neuron keeps."""
    later = chip.conventions["reset"][fired] == SUBTRACT_NEXT
    if later.any():
        chip.debt[fired[later]] += chip.theta[fired[later]]
        after = np.where(later, v, after)
    if chip.drops_input:
        chip.dropped[fired[chip.conventions["drop_input"][fired]]] = True
    return after


def price(chip, n_in, n_syn, n_upd, fired, kinds=None) -> tuple[list, int, int, float]:
    """A service by the pipeline formula: (fired neurons as a list, spikes, packets out, seconds)."""
    fired_list, n_fired, n_out = [], 0, 0
    if fired is not None:
        fired_list = fired.tolist()
        n_fired = len(fired_list)
        n_out = sum(chip.n_dst_list[s] for s in fired_list)
    return fired_list, n_fired, n_out, service_time(chip, n_in, n_syn, n_upd, n_fired, n_out, kinds)


def service_time(chip, n_in, n_syn, n_upd, n_fired, n_out, kinds=None):
    """The pipeline formula: seconds of one service (numbers), or of each of several (arrays, the same
    operations in the same order element by element). ``kinds``: how many of the ``n_syn`` synapses are
    sparse and convolutional (``Synapses.kinds``), each at its kind's latency; None: all dense."""
    l_in, l_syn, l_upd, l_spk, l_out = chip.lat
    if kinds is None:
        return n_in * l_in + n_syn * l_syn + n_upd * l_upd + n_fired * l_spk + n_out * l_out
    n_sparse, n_conv = kinds
    l_sparse, l_conv = chip.lat_kinds
    syn = (n_syn - n_sparse - n_conv) * l_syn + n_sparse * l_sparse + n_conv * l_conv
    return n_in * l_in + syn + n_upd * l_upd + n_fired * l_spk + n_out * l_out


def finish(chip, core, pkt, t_start, n_in, n_syn, n_upd, fired, overshoot, kinds=None) -> float:
    """Price a service with the pipeline formula, count it, and schedule its spikes."""
    fired_list, n_fired, n_out, service = price(chip, n_in, n_syn, n_upd, fired, kinds)
    if pkt is not None and chip.stop_on_output is not None:  # counted when the service ends: a stop may come first
        core.owed.append((pkt, t_start, n_in, n_syn, n_upd, n_fired, n_out, service, kinds))
    else:
        count(chip, core, pkt, t_start, n_in, n_syn, n_upd, n_fired, n_out, service, kinds)
    t_end = t_start + service
    if chip.gates_idle:
        core.work_end = max(core.work_end, t_end)
    if n_fired:
        chip.schedule_emit(core.id, t_end, fired, fired_list, overshoot.tolist())
    return t_end


def count(chip, core, pkt, t_start, n_in, n_syn, n_upd, n_fired, n_out, service, kinds=None) -> None:
    core.messages_in += n_in
    core.synaptic_events += n_syn
    if kinds is not None:
        core.sparse_events += kinds[0]
        core.conv_events += kinds[1]
    core.neuron_updates += n_upd
    if chip.two_tier:  # a neuron a packet updates is accessed too (chip.lat: its update latency includes it)
        core.neuron_accesses += n_upd
    core.spikes_out += n_fired
    core.packets_out += n_out
    core.busy_s += service
    if pkt is not None:
        pkt.t_served = t_start
        if chip.tracer is not None:
            chip.tracer.served(pkt.row, t_start - pkt.t_arrival)


def input_timeouts(chip, entries: list) -> None:
    """Event input (``asyncmode._inject``'s entries: delay, spike, unit, what its leaving does): a timeout
    for each input spike, in order; each is pending work until it has run."""
    env, leave = chip.env, partial(_leave, chip)
    for delay, s, c, what in entries:
        chip.pending += 1
        env.timeout(delay, (s, c, what)).callbacks.append(leave)


def _leave(chip, ev) -> None:
    s, c, what = ev.value
    what(chip, s, c)
