"""``summary.json``: one builder for both engines.

The fields every run has (its identity, options, timestep, accuracy, spikes
per layer) are written here once; each engine adds its block of options and
its figures. The functional reference has no hardware, so its hardware
figures are null. See docs/design.md, "Records".
"""

from __future__ import annotations

from hw_models.cost import CATEGORIES

from .folder import SCHEMA, stats

__all__ = ["NULL_STATS", "build_summary", "chip_summary", "functional_summary", "spikes_block"]

NULL_STATS = {"mean": None, "p50": None, "p95": None, "max": None}


def spikes_block(net, per_population: list[int]) -> dict:
    """``spikes``: the total over the network's layers, per layer, and the input's apart."""
    layers = {p.name: int(n) for p, n in zip(net.populations[1:], per_population[1:])}
    return {"total": int(sum(layers.values())), "per_layer": layers, "input": int(per_population[0])}


def build_summary(*, engine: str, cfg, net, hw, options: dict, samples: int, accuracy: dict, spikes: dict,
                  counts: dict, timing: dict, energy_j: dict | None, extra: dict, wall_s: float,
                  frame_s: float | None) -> dict:
    """The summary in the contract's field order.

    ``options``: the engine's own options after ``mode``; ``accuracy``:
    ``accuracy`` (and the functional engine's first-spike accuracy);
    ``counts``: synaptic events, neuron updates, packets, hops (None without
    hardware); ``timing``: ``latency_s``, ``first_output_s`` stats;
    ``energy_j``: per category and total (None: no hardware); ``extra``:
    fields that only one engine has, written before ``wall_s``.
    """
    hardware = {} if hw is None else {
        "hw_source": hw.source, "hw_notes": hw.notes,
        "mesh": {"width": hw.mesh.width, "height": hw.mesh.height, "cores_per_tile": hw.mesh.cores_per_tile}}
    if energy_j is None:
        energy_j = {k: None for k in ("total", *CATEGORIES)}
        per_inference = edp = None
    else:
        per_inference = energy_j["total"] / max(samples, 1)
        mean_latency = timing["latency_s"]["mean"]
        edp = per_inference * mean_latency if mean_latency is not None else None
    return {
        "schema": SCHEMA, "engine": engine, "model": net.name, "hw": None if hw is None else hw.name, **hardware,
        "mode": cfg.mode, **options,
        "dt_s": net.dt_s, "dt_source": net.dt_source, "nir_from": net.dialect, "frame_s": frame_s, "seed": cfg.seed, "samples": samples,
        **accuracy,
        "layer_sizes": {p.name: p.size for p in net.populations},
        "readout": net.readout,
        "spikes": spikes,
        **counts,
        **timing,
        "energy_j": energy_j,
        "energy_per_inference_j": per_inference,
        "edp_js": edp,
        **extra,
        "wall_s": wall_s,
    }


def chip_summary(res) -> dict:
    """The summary of a chip run (``emulator.runner.RunResult``)."""
    cfg, rows, c = res.config, res.per_sample, res.counters
    energy = {k: float(res.per_core_energy[:, j].sum()) for j, k in enumerate(CATEGORIES)}
    correct = [r["correct"] for r in rows if r["correct"] is not None]
    return build_summary(
        engine=res.engine, cfg=cfg, net=res.network, hw=res.hw, samples=len(rows),
        options={"queue": cfg.queue_in_effect, "input": cfg.input, "refractory": cfg.refractory_on,
                 "realtime": cfg.realtime if cfg.mode == "async" else None, "noc": cfg.noc,
                 "mapping": res.mapping.strategy + (" (packed)" if res.mapping.packed else ""),
                 "hw_set": list(cfg.hw_set),
                 "input_on_cores": res.hw.io.input_on_cores,  # else through the profile's I/O ports
                 "mode_supported": cfg.mode in res.hw.modes,
                 "stop_on_output": cfg.stop_on_output},
        accuracy={"accuracy": (sum(correct) / len(correct)) if correct else None},
        spikes=spikes_block(res.network, [res.spikes_per_layer[p.name] for p in res.network.populations]),
        counts={"synaptic_events": int(c.synaptic_events.sum()), "neuron_updates": int(c.neuron_updates.sum()),
                "packets": int(c.packets_out.sum() + c.io_packets.sum()), "hops": int(c.hops_ew.sum() + c.hops_ns.sum()),
                "io_packets": int(c.io_packets.sum()),  # of them, the input's through I/O ports
                # what the hardware model's finer terms counted (0 where the profile does not price them)
                "sparse_events": int(c.sparse_events.sum()), "conv_events": int(c.conv_events.sum()),
                "neuron_accesses": int(c.neuron_accesses.sum()), "wakeups": int(c.wakeups.sum())},
        timing={"latency_s": stats(r["latency_s"] for r in rows),
                "first_output_s": stats(r["first_output_s"] for r in rows),
                "first_correct_s": stats(r["first_correct_s"] for r in rows),
                "decision_s": stats(r["decision_s"] for r in rows)},
        energy_j={"total": float(res.per_core_energy.sum()), **energy},
        extra={"decision_energy_per_inference_j": sum(r["decision_energy_j"] for r in rows) / max(len(rows), 1),
               "stopped": sum(r["stopped"] for r in rows)},
        wall_s=res.wall_s, frame_s=res.frame_s)


def functional_summary(run) -> dict:
    """The summary of a functional-reference run (``emulator.functional.FunctionalRun``)."""
    cfg, r, labels = run.config, run.result, run.labels
    in_async = cfg.mode == "async"
    return build_summary(
        engine=run.engine, cfg=cfg, net=run.network, hw=None, samples=len(r.sops),
        options={"queue": cfg.queue_in_effect, "F": cfg.F if in_async else None,
                 "prioritize_input": cfg.prioritize_input if in_async else None,
                 "refractory": cfg.refractory_on, "refrac_dropout": cfg.refrac_dropout,
                 "stop_on_output": cfg.stop_on_output, "max_steps": cfg.max_steps,
                 "input_dropout": cfg.input_dropout, "spike_dropout": cfg.spike_dropout,
                 "momentum_noise": cfg.momentum_noise},
        accuracy={"accuracy": None if labels is None else float((r.pred_rate == labels).mean()),
                  "accuracy_first_spike": None if labels is None else float((r.pred_first == labels).mean())},
        spikes=spikes_block(run.network, r.spikes.sum(axis=0).tolist()),
        counts={"synaptic_events": int(r.sops.sum()), "neuron_updates": None, "packets": None, "hops": None,
                "io_packets": None,
                "sparse_events": None, "conv_events": None, "neuron_accesses": None, "wakeups": None},
        timing={"latency_s": NULL_STATS, "first_output_s": NULL_STATS, "first_correct_s": NULL_STATS,
                "decision_s": NULL_STATS},
        energy_j=None,
        extra={"decision_energy_per_inference_j": None, "stopped": None,
               "forward_steps": stats(r.forward_steps.astype(float)),
               "latency_forward_steps": stats(r.latency_steps),
               "latency_forward_steps_correct": stats(r.latency_steps_correct)},
        wall_s=run.wall_s, frame_s=run.frame_s)
