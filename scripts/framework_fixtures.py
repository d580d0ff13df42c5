"""Ground-truth fixtures from the SNN frameworks themselves: each framework's own NIR export and its own forward pass.

For each framework this builds small seeded models (the cases below that the framework's NIR exporter can write),
runs the framework's forward pass on a seeded binary input of T=12 steps and batch 2, exports the model with the
framework's documented exporter, prints the exported graph (every node, parameter, type and edge), and writes per case

    <framework>_<case>.nir.gz  the exporter's graph, the file nir.write wrote (default arguments), gzipped: HDF5
                             files from nir.write are 16-65 KB each, about 2 KB gzipped; nir.read takes the bytes
                             as nir.read(io.BytesIO(gzip.decompress(data))). Nothing at all is written for a case
                             whose graph the exporter cannot produce or nir.write/nir.read cannot handle (the
                             reason is printed).
    <framework>_<case>.npz   input (T, batch, *input_shape), float32 0/1, always time-major whatever the framework
                             takes (the info says how it was fed); spikes_<name> (T, batch, neurons) int16, the spike
                             counts of each neuron layer per step, <name> being the layer's node name in the .nir
                             graph, neurons flattened in C order (C, H, W); info, strings: case, dynamics exercised,
                             versions, exporter call, how the input was fed, weight scale, firing rates, and
                             whether nir.read's type check (nir >= 1.0.5) accepts the file or only
                             nir.read(..., type_check=False) does.

Weights are float32, scaled (one factor per case, searched on a fixed grid) so that every neuron layer fires on some
but not all steps, with few spikes per step for multi-spike neurons; the integer cases (g_integer) keep integer
weights and thresholds where the threshold comparison (> or >=) matters, and their info says which way a threshold
nudge changes the output. The script imports only the framework, torch, numpy and nir (and the standard library), so
it runs inside the framework's own virtual environment. It writes only into --out.

Cases: a_linear Linear(4->5)-LIF-Linear(5->3)-LIF; b_cnn Conv2d(1->2,k3)-LIF-pool 2-Flatten-Linear-LIF on 1x8x8;
c_* a recurrent LIF layer; d_synaptic the synaptic-current neuron; e_zero_* snnTorch's zero reset; f_multispike
several spikes per step; g_integer integer weights and thresholds. Where a framework's exporter needs it to produce
a graph nir can write and read, the model uses per-neuron parameter tensors (snnTorch, Norse) and snnTorch's export
gets ignore_dims=[0]; Sinabs uses its Squeeze layers (input (batch*T, ...)), the form its NIR import builds, plus
one plain-LIF case. The cases an exporter cannot write (Norse b, c; Sinabs b, c; Rockpool b) are attempted and
reported, and leave no files.

Regenerate (from the repository root; the environments are built once, under /tmp, never in the project):

    python3 -m venv /tmp/fw && /tmp/fw/bin/pip install torch==2.13.0
    /tmp/fw/bin/pip install torch==2.13.0 snntorch==1.0.0 rockpool==3.1.0 nirtorch nir
    /tmp/fw/bin/pip install --no-deps norse==1.1.0     # norse requires torchvision, which pulls torch 2.14.1 (CUDA)
    /tmp/fw/bin/python scripts/framework_fixtures.py snntorch --out tests/fixtures/frameworks
    /tmp/fw/bin/python scripts/framework_fixtures.py norse --out tests/fixtures/frameworks
    /tmp/fw/bin/python scripts/framework_fixtures.py rockpool --out tests/fixtures/frameworks

    python3 -m venv /tmp/sinabs && /tmp/sinabs/bin/pip install torch==2.13.0
    /tmp/sinabs/bin/pip install sinabs==3.1.3 && /tmp/sinabs/bin/pip uninstall -y samna
    /tmp/sinabs/bin/python scripts/framework_fixtures.py sinabs --out tests/fixtures/frameworks

(sinabs pins nir<=1.0.4, so it needs its own environment). Install torch 2.13.0 first: pip then takes the CPU
build on this disk; otherwise a framework's dependency pulls a CUDA build of several GB.

WARNING, samna: sinabs depends on the PyPI package samna (Speck/DynapCNN hardware tools). Uninstall it right after
installing sinabs and never import it: importing samna tries to pip-install further packages from outside the
package registries. This script never imports samna or sinabs.backend.
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import sys
import tempfile
from importlib import metadata

import nir
import numpy as np
import torch

T, B = 12, 2
SCALES = (0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0, 11.0, 16.0, 22.0, 32.0)
TARGET_RATE = 0.35


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def binary_input(seed: int, shape: tuple[int, ...], p: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((T, B, *shape)) < p).astype(np.float32)


def scale_weights(net: torch.nn.Module, scale: float) -> None:
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)):
                mod.weight.mul_(scale)
                if mod.bias is not None:
                    mod.bias.mul_(scale)


def integer_linear(n_in: int, n_out: int, gen: torch.Generator) -> torch.nn.Linear:
    lin = torch.nn.Linear(n_in, n_out, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.randint(-1, 3, (n_out, n_in), generator=gen).float())
    return lin


# ----------------------------------------------------------------------------------------------- graph printing
def _fmt(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, (str, bool)):
        return repr(value)
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - anything printable
        return repr(value)
    if arr.dtype == object:
        return repr(value)
    if arr.size <= 8:
        return f"{arr.dtype}{list(arr.shape)} {np.array2string(arr.ravel(), precision=7, separator=', ')}"
    flat = arr.ravel().astype(np.float64)
    return (f"{arr.dtype}{list(arr.shape)} min={flat.min():.7g} max={flat.max():.7g} "
            f"distinct={np.unique(flat).size} first={np.array2string(flat[:4], precision=7, separator=', ')}")


def _types(value) -> str:
    if not isinstance(value, dict):
        return repr(value)
    return "{" + ", ".join(f"{k}: {None if v is None else np.asarray(v).tolist()}" for k, v in value.items()) + "}"


def print_graph(graph, indent: str = "  ") -> None:
    print(f"{indent}graph {type(graph).__name__} metadata={getattr(graph, 'metadata', None)!r}")
    for name, node in graph.nodes.items():
        if node is None:
            print(f"{indent}  node {name!r}: None  (the exporter mapped this module to nothing)")
            continue
        if isinstance(node, nir.NIRGraph):
            print(f"{indent}  node {name!r}: NIRGraph (subgraph)")
            print_graph(node, indent + "      ")
            continue
        print(f"{indent}  node {name!r}: {type(node).__name__}")
        for key, value in vars(node).items():
            shown = _types(value) if key in ("input_type", "output_type") else _fmt(value)
            print(f"{indent}      {key} = {shown}")
    print(f"{indent}  edges = {sorted(graph.edges)}")


def write_case(out: str, fw: str, case: str, graph, x: np.ndarray, spikes: dict[str, np.ndarray],
               info: list[str]) -> bool:
    """nir.write the graph (default arguments) and nir.read it back; only then keep it, gzipped, and write the npz.

    False, and nothing written, when nir.write or nir.read fails. The .nir is gzipped because nir.write's HDF5 files
    are 16-65 KB even for a 3-node graph (about 2 KB gzipped); read one with
    ``nir.read(io.BytesIO(gzip.decompress(path.read_bytes())))`` or gunzip it to a file.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{fw}_{case}.nir")
        try:
            nir.write(path, graph)
        except Exception as exc:  # noqa: BLE001 - report any failure of the writer
            print(f"  NOT WRITTEN: nir.write failed: {type(exc).__name__}: {exc}")
            return False
        try:
            back = nir.read(path)
            how = "nir.read OK"
        except Exception as exc:  # noqa: BLE001 - nir >= 1.0.5 type-checks on read; retry without
            how = f"nir.read fails its type check ({type(exc).__name__}: {exc}); reads with type_check=False"
            try:
                back = nir.read(path, type_check=False)
            except Exception as exc2:  # noqa: BLE001
                print(f"  NOT WRITTEN: nir.read failed: {type(exc2).__name__}: {exc2}")
                return False
        print(f"  nir.write OK ({os.path.getsize(path)} B); {how}; nodes read back {sorted(back.nodes)}")
        info = [*info, f"nir_read={how}"]
        with open(path, "rb") as src:
            data = src.read()
    with open(os.path.join(out, f"{fw}_{case}.nir.gz"), "wb") as dst:
        dst.write(gzip.compress(data, mtime=0))
    arrays = {f"spikes_{k}": np.rint(v).astype(np.int16) for k, v in spikes.items()}
    np.savez_compressed(os.path.join(out, f"{fw}_{case}.npz"), input=x, info=np.array(info), **arrays)
    return True


def rates(spikes: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: float((v > 0).mean()) for k, v in spikes.items()}


def pick_scale(build, simulate, x: np.ndarray, scales=SCALES, target: float = TARGET_RATE, max_count: int = 4) -> float:
    """The weight scale whose layers' firing rates (fraction of steps x neurons with a spike) are closest to target,
    with at most max_count spikes per neuron and step."""
    best, best_err = scales[0], math.inf
    for scale in scales:
        spikes = simulate(build(scale), x)
        r = rates(spikes)
        err = max(abs(v - target) for v in r.values())
        if min(r.values()) == 0.0 or max(r.values()) == 1.0:
            err += 1.0
        if max(int(v.max()) for v in spikes.values()) > max_count:  # multi-spike neurons: keep counts small
            err += 1.0
        if err < best_err:
            best, best_err = scale, err
    return best


def run_cases(fw: str, cases: list[dict], out: str, common: list[str]) -> list[str]:
    written = []
    for case in cases:
        name = case["name"]
        print(f"\n=== {fw} {name}: {case['dynamics']}")
        x = binary_input(case["seed"], case["input_shape"])
        if case.get("skip"):
            print(f"  NOT WRITTEN: {case['skip']}")
            continue
        scale = 1.0 if case.get("integer") else pick_scale(case["build"], case["simulate"], x,
                                                           case.get("scales", SCALES), case.get("target", TARGET_RATE))
        model = case["build"](scale)
        spikes = {case.get("rename", {}).get(k, k): v for k, v in case["simulate"](model, x).items()}
        r = rates(spikes)
        print(f"  weight scale {scale}; firing rates {r}; max count/step "
              f"{ {k: int(v.max()) for k, v in spikes.items()} }")
        tie_note = None
        if case.get("integer"):
            lo = list(case["simulate"](case["build"](1.0, -1e-3), x).values())
            hi = list(case["simulate"](case["build"](1.0, +1e-3), x).values())
            diff_lo = any(not np.array_equal(a, b) for a, b in zip(lo, spikes.values()))
            diff_hi = any(not np.array_equal(a, b) for a, b in zip(hi, spikes.values()))
            tie_note = (f"threshold ties: output changes with threshold-1e-3: {diff_lo}, with threshold+1e-3: "
                        f"{diff_hi} (a '>' rule changes below, a '>=' rule above)")
            print(f"  {tie_note}")
        try:
            graph, call = case["export"](model)
        except Exception as exc:  # noqa: BLE001 - report any exporter failure
            print(f"  NOT WRITTEN: exporter failed: {type(exc).__name__}: {exc}")
            continue
        print(f"  exporter call: {call}")
        print_graph(graph)
        info = [f"case={name}", f"dynamics={case['dynamics']}", *common, f"exporter={call}",
                f"input={case['feed']}", f"weight_scale={scale}", f"firing_rates={r}",
                *[f"spikes_{k}={v}" for k, v in case["layers"].items()], *case.get("notes", [])]
        if tie_note:
            info.append(tie_note)
        if write_case(out, fw, name, graph, x, spikes, info):
            written.append(name)
    return written


# ----------------------------------------------------------------------------------------------------- snnTorch
def snntorch_cases() -> tuple[list[dict], list[str]]:
    import snntorch as snn
    from snntorch.export_nir import export_to_nir

    def vec(value, shape):
        return torch.full(shape, float(value))

    def leaky(shape, beta, thr=1.0, reset="subtract", eps=0.0, **kw):
        return snn.Leaky(beta=vec(beta, shape), threshold=vec(thr + eps, shape), reset_mechanism=reset,
                         init_hidden=True, **kw)

    def synaptic(shape, alpha, beta, thr=1.0, reset="subtract", **kw):
        return snn.Synaptic(alpha=vec(alpha, shape), beta=vec(beta, shape), threshold=vec(thr, shape),
                            reset_mechanism=reset, init_hidden=True, **kw)

    def simulate(net, x):
        for mod in net.modules():
            if hasattr(mod, "reset_mem"):
                mod.reset_mem()
        rec = {str(i): [] for i, m in enumerate(net) if isinstance(m, snn.SpikingNeuron)}
        with torch.no_grad():
            for t in range(T):
                h = torch.from_numpy(x[t])
                for i, mod in enumerate(net):
                    h = mod(h)
                    if isinstance(h, tuple):  # output=True returns (spk, [syn,] mem)
                        h = h[0]
                    if str(i) in rec:
                        rec[str(i)].append(h.reshape(B, -1).numpy().copy())
        return {k: np.stack(v) for k, v in rec.items()}

    def exporter(in_shape):
        def export(net):
            for mod in net.modules():
                if hasattr(mod, "reset_mem"):
                    mod.reset_mem()
            g = export_to_nir(net, torch.zeros(B, *in_shape), ignore_dims=[0])
            return g, f"snntorch.export_nir.export_to_nir(net, torch.zeros({B}, *{in_shape}), ignore_dims=[0])"
        return export

    def mlp(neuron1, neuron2, seed):
        def build(scale, eps=0.0):
            torch.manual_seed(seed)
            net = torch.nn.Sequential(torch.nn.Linear(4, 5), neuron1(eps), torch.nn.Linear(5, 3), neuron2(eps))
            scale_weights(net, scale)
            return net
        return build

    def cnn(scale, eps=0.0):
        torch.manual_seed(12)
        net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), leaky((2, 6, 6), 0.85), torch.nn.AvgPool2d(2),
                                  torch.nn.Flatten(), torch.nn.Linear(18, 3), leaky((3,), 0.85, output=True))
        scale_weights(net, scale)
        return net

    def rleaky(scale, eps=0.0):
        torch.manual_seed(13)
        net = torch.nn.Sequential(torch.nn.Linear(4, 5),
                                  snn.RLeaky(beta=vec(0.85, (5,)), threshold=vec(1.0, (5,)), linear_features=5,
                                             init_hidden=True),
                                  torch.nn.Linear(5, 3), leaky((3,), 0.85, output=True))
        scale_weights(net, scale)  # the recurrent nn.Linear (with bias) inside RLeaky is scaled too
        return net

    def integer(scale, eps=0.0):
        gen = torch.Generator().manual_seed(17)
        return torch.nn.Sequential(integer_linear(4, 5, gen), leaky((5,), 0.5, 2.0, eps=eps),
                                   integer_linear(5, 3, gen), leaky((3,), 0.5, 2.0, eps=eps, output=True))

    sub = "reset_mechanism='subtract' (default): V[t]=beta*V[t-1]+I[t]-thr*S[t-1], S[t]=V[t]>thr"
    feed = f"net(x[t]) per step, x[t] of shape ({B}, *input_shape); init_hidden=True, state zeroed by reset_mem()"
    mk = {"feed": feed}
    cases = [
        dict(name="a_linear", seed=1, input_shape=(4,), dynamics=f"Linear-Leaky-Linear-Leaky, {sub}",
             build=mlp(lambda e: leaky((5,), 0.9), lambda e: leaky((3,), 0.8, output=True), 11),
             layers={"1": "Leaky beta=0.9 thr=1 subtract", "3": "Leaky beta=0.8 thr=1 subtract"}, **mk),
        dict(name="b_cnn", seed=2, input_shape=(1, 8, 8), build=cnn,
             dynamics="Conv2d(1->2,k3)-Leaky-AvgPool2d(2)-Flatten-Linear(18->3)-Leaky, subtract reset",
             layers={"1": "Leaky beta=0.85 thr=1 on (2,6,6)", "5": "Leaky beta=0.85 thr=1"}, **mk),
        dict(name="c_rleaky", seed=3, input_shape=(4,), build=rleaky,
             dynamics="Linear-RLeaky(all_to_all, linear_features=5: nn.Linear with bias)-Linear-Leaky; "
                      "V[t]=beta*V[t-1]+I[t]+W_rec@S[t-1]+b_rec-thr*S[t-1]",
             layers={"1.lif": "RLeaky beta=0.85 thr=1 (exported as nodes 1.lif, 1.w_rec)",
                     "3": "Leaky beta=0.85 thr=1"}, rename={"1": "1.lif"}, **mk),
        dict(name="d_synaptic", seed=4, input_shape=(4,),
             dynamics="Linear-Synaptic-Linear-Synaptic: syn[t]=alpha*syn[t-1]+I[t]; "
                      "V[t]=beta*V[t-1]+syn[t]-thr*S[t-1]",
             build=mlp(lambda e: synaptic((5,), 0.6, 0.9), lambda e: synaptic((3,), 0.5, 0.8, output=True), 14),
             layers={"1": "Synaptic alpha=0.6 beta=0.9 thr=1", "3": "Synaptic alpha=0.5 beta=0.8 thr=1"}, **mk),
        dict(name="e_zero_leaky", seed=5, input_shape=(4,),
             dynamics="Linear-Leaky-Linear-Leaky, reset_mechanism='zero': V[t]=beta*(1-S[t-1])*V[t-1]+I[t] "
                      "(input of the step after a spike kept)",
             build=mlp(lambda e: leaky((5,), 0.9, reset="zero"),
                       lambda e: leaky((3,), 0.8, reset="zero", output=True), 15),
             layers={"1": "Leaky beta=0.9 thr=1 zero", "3": "Leaky beta=0.8 thr=1 zero"}, **mk),
        dict(name="e_zero_synaptic", seed=6, input_shape=(4,),
             dynamics="Linear-Synaptic-Linear-Synaptic, reset_mechanism='zero': "
                      "V[t]=(1-S[t-1])*(beta*V[t-1]+syn[t]) (input of the step after a spike dropped, syn kept)",
             build=mlp(lambda e: synaptic((5,), 0.6, 0.9, reset="zero"),
                       lambda e: synaptic((3,), 0.5, 0.8, reset="zero", output=True), 16),
             layers={"1": "Synaptic alpha=0.6 beta=0.9 thr=1 zero", "3": "Synaptic alpha=0.5 beta=0.8 thr=1 zero"},
             **mk),
        dict(name="g_integer", seed=7, input_shape=(4,), build=integer, integer=True,
             dynamics="integer weights in {-1,0,1,2} (no bias), Leaky beta=0.5 thr=2, subtract; V hits thr "
                      "exactly and does NOT spike (V>thr)",
             layers={"1": "Leaky beta=0.5 thr=2 subtract", "3": "Leaky beta=0.5 thr=2 subtract"}, **mk),
    ]
    for case in cases:
        case["simulate"] = simulate
        case["export"] = exporter(case["input_shape"])
    common = [f"framework=snntorch {version('snntorch')}", f"nir={version('nir')}", f"nirtorch={version('nirtorch')}",
              f"torch={torch.__version__}",
              "note=beta and threshold are per-neuron tensors and the batch axis of the sample data is dropped with "
              "ignore_dims=[0]: with scalar beta/threshold (0-d LIF parameters), or a batch axis left in the Input "
              "type, export_to_nir itself fails in nir's infer_types"]
    return cases, common


# -------------------------------------------------------------------------------------------------------- Norse
def norse_cases() -> tuple[list[dict], list[str]]:
    import norse.torch as nt

    def box(shape, inv=300.0, thr=1.0, eps=0.0):
        p = nt.LIFBoxParameters(tau_mem_inv=torch.full(shape, inv), v_leak=torch.zeros(shape),
                                v_th=torch.full(shape, thr + eps), v_reset=torch.zeros(shape))
        return nt.LIFBoxCell(p)

    def cuba(shape, syn_inv=400.0, mem_inv=300.0, thr=1.0):
        p = nt.LIFParameters(tau_syn_inv=torch.full(shape, syn_inv), tau_mem_inv=torch.full(shape, mem_inv),
                             v_leak=torch.zeros(shape), v_th=torch.full(shape, thr), v_reset=torch.zeros(shape))
        return nt.LIFCell(p)

    stateful = (nt.LIFBoxCell, nt.LIFCell, nt.LIFRecurrentCell)

    def simulate(net, x):
        rec = {str(i): [] for i, m in enumerate(net) if isinstance(m, stateful)}
        states = [None] * len(net)
        with torch.no_grad():
            for t in range(T):
                h = torch.from_numpy(x[t])
                for i, mod in enumerate(net):
                    if isinstance(mod, stateful):
                        h, states[i] = mod(h, states[i])
                        rec[str(i)].append(h.reshape(B, -1).numpy().copy())
                    else:
                        h = mod(h)
        return {k: np.stack(v) for k, v in rec.items()}

    def exporter(in_shape):
        def export(net):
            return nt.to_nir(net, torch.zeros(B, *in_shape)), f"norse.torch.to_nir(net, torch.zeros({B}, *{in_shape}))"
        return export

    def seq(seed, *make):
        def build(scale, eps=0.0):
            torch.manual_seed(seed)
            net = nt.SequentialState(*[m(eps) for m in make])
            scale_weights(net, scale)
            return net
        return build

    lin = lambda i, o: lambda e: torch.nn.Linear(i, o)  # noqa: E731
    box_f = "LIFBoxCell: V[t]=V[t-1]+dt*inv*(v_leak-V[t-1]+I[t]); S=V>v_th; V=v_reset where S (dt=1e-3)"

    def integer(scale, eps=0.0):
        gen = torch.Generator().manual_seed(27)
        return nt.SequentialState(integer_linear(4, 5, gen), box((5,), 500.0, 1.0, eps),
                                  integer_linear(5, 3, gen), box((3,), 500.0, 1.0, eps))

    feed = (f"SequentialState stepped by hand: each cell called per step as cell(x, state), x[t] of shape "
            f"({B}, *input_shape); state None at t=0 (v=v_leak, i=0)")
    mk = {"feed": feed}
    cases = [
        dict(name="a_linear", seed=1, input_shape=(4,), build=seq(25, lin(4, 5), lambda e: box((5,)), lin(5, 3),
                                                                     lambda e: box((3,))),
             dynamics=f"Linear-LIFBoxCell-Linear-LIFBoxCell, tau_mem_inv=300 (dt*inv=0.3), {box_f}",
             layers={"1": "LIFBoxCell tau_mem_inv=300 v_th=1", "3": "LIFBoxCell tau_mem_inv=300 v_th=1"}, **mk),
        dict(name="b_cnn", seed=2, input_shape=(1, 8, 8),
             build=seq(22, lambda e: torch.nn.Conv2d(1, 2, 3), lambda e: box((2, 6, 6)),
                       lambda e: torch.nn.AvgPool2d(2), lambda e: torch.nn.Flatten(), lin(18, 3), lambda e: box((3,))),
             dynamics="Conv2d-LIFBoxCell-AvgPool2d(2)-Flatten-Linear-LIFBoxCell",
             layers={"1": "LIFBoxCell on (2,6,6)", "5": "LIFBoxCell"}, **mk),
        dict(name="c_recurrent", seed=3, input_shape=(4,),
             build=seq(23, lin(4, 5), lambda e: nt.LIFRecurrentCell(5, 5), lin(5, 3), lambda e: box((3,))),
             dynamics="Linear-LIFRecurrentCell-Linear-LIFBoxCell",
             layers={"1": "LIFRecurrentCell (no autapses)", "3": "LIFBoxCell"}, **mk),
        dict(name="d_synaptic", seed=4, input_shape=(4,),
             build=seq(24, lin(4, 5), lambda e: cuba((5,)), lin(5, 3), lambda e: cuba((3,))),
             dynamics="Linear-LIFCell-Linear-LIFCell, tau_syn_inv=400 tau_mem_inv=300: j=i[t-1]+I[t]; "
                      "V=V+dt*mem_inv*(v_leak-V+j); i[t]=j*(1-dt*syn_inv); S=V>v_th; V=v_reset where S",
             layers={"1": "LIFCell tau_syn_inv=400 tau_mem_inv=300 v_th=1", "3": "LIFCell same"}, **mk),
        dict(name="g_integer", seed=7, input_shape=(4,), build=integer, integer=True,
             dynamics="integer weights in {-1,0,1,2} (no bias; exported as Affine with zero bias), LIFBoxCell "
                      "dt*tau_mem_inv=0.5 v_th=1: V=0.5*V+0.5*I exact in float32; V hits v_th exactly and does NOT "
                      "spike (V>v_th)",
             layers={"1": "LIFBoxCell tau_mem_inv=500 v_th=1", "3": "LIFBoxCell tau_mem_inv=500 v_th=1"}, **mk),
    ]
    for case in cases:
        case["simulate"] = simulate
        case["export"] = exporter(case["input_shape"])
    common = [f"framework=norse {version('norse')}", f"nir={version('nir')}", f"nirtorch={version('nirtorch')}",
              f"torch={torch.__version__}", "note=neuron parameters are per-neuron tensors: with scalar (0-d) "
              "parameters the exported graph cannot be written by nir.write (gzip on a scalar dataset)"]
    return cases, common


# ------------------------------------------------------------------------------------------------------- Sinabs
def sinabs_cases() -> tuple[list[dict], list[str]]:
    import sinabs
    import sinabs.activation as sa
    import sinabs.layers as sl

    neuron_types = (sl.LIF, sl.IAF, sl.LIFRecurrent, sl.IAFSqueeze, sl.LIFSqueeze)

    def simulate(net, x, squeeze=True):
        for mod in net.modules():
            if isinstance(mod, neuron_types):
                mod.reset_states()
        rec = {}
        hooks = [mod.register_forward_hook(lambda m, a, o, k=str(i): rec.__setitem__(k, o.detach().clone()))
                 for i, mod in enumerate(net) if isinstance(mod, neuron_types)]
        xt = torch.from_numpy(x).transpose(0, 1).contiguous()  # (B, T, ...)
        if squeeze:
            xt = xt.reshape(B * T, *x.shape[2:])
        with torch.no_grad():
            net(xt)
        for h in hooks:
            h.remove()
        return {k: v.reshape(B, T, -1).transpose(0, 1).numpy() for k, v in rec.items()}

    def exporter(sample_shape):
        def export(net):
            g = sinabs.to_nir(net, torch.zeros(*sample_shape))
            return g, f"sinabs.to_nir(net, torch.zeros(*{sample_shape}))"
        return export

    def seq(seed, *make):
        def build(scale, eps=0.0):
            torch.manual_seed(seed)
            net = torch.nn.Sequential(*[m(eps) for m in make])
            scale_weights(net, scale)
            return net
        return build

    lin = lambda i, o: lambda e: torch.nn.Linear(i, o)  # noqa: E731

    def lif(**kw):
        return lambda e: sl.LIFSqueeze(batch_size=B, tau_mem=4.0, **kw)

    def iaf(thr):
        return lambda e: sl.IAFSqueeze(batch_size=B, spike_threshold=torch.tensor(thr + e))

    lif_eq = ("V[t]=a*V[t-1]+(1-a)*I[t] (norm_input=True), a=exp(-1/tau_mem); S=floor(V/thr) if V>0 (MultiSpike); "
              "V-=S*thr")

    def integer(scale, eps=0.0):
        gen = torch.Generator().manual_seed(37)
        return torch.nn.Sequential(integer_linear(4, 5, gen), iaf(2.0)(eps), integer_linear(5, 3, gen), iaf(2.0)(eps))

    sq_feed = (f"net(x.transpose(0, 1).reshape({B}*{T}, *input_shape)): Squeeze layers take (batch*T, ...), "
               f"batch-major, batch_size={B}")
    cases = [
        dict(name="a_linear", seed=1, input_shape=(4,), feed=sq_feed,
             build=seq(31, lin(4, 5), lif(), lin(5, 3), lif()),
             dynamics=f"Linear-LIFSqueeze-Linear-LIFSqueeze, sinabs defaults (MultiSpike, MembraneSubtract, "
                      f"norm_input=True), scalar tau_mem=4 steps: {lif_eq}",
             layers={"1": "LIFSqueeze tau_mem=4 thr=1 MultiSpike", "3": "LIFSqueeze tau_mem=4 thr=1 MultiSpike"}),
        dict(name="a_linear_singlespike", seed=8, input_shape=(4,), feed=sq_feed,
             build=seq(38, lin(4, 5), lif(spike_fn=sa.SingleSpike), lin(5, 3), lif(spike_fn=sa.SingleSpike)),
             dynamics="Linear-LIFSqueeze-Linear-LIFSqueeze, spike_fn=SingleSpike: S=V>=thr (one spike), V-=S*thr, "
                      "norm_input=True, tau_mem=4",
             layers={"1": "LIFSqueeze tau_mem=4 thr=1 SingleSpike", "3": "LIFSqueeze tau_mem=4 thr=1 SingleSpike"}),
        dict(name="a_linear_plain", seed=9, input_shape=(4,), plain=True,
             feed=f"net(x.transpose(0, 1)): plain sl.LIF takes (batch={B}, T, N)",
             build=seq(39, lin(4, 5), lambda e: sl.LIF(tau_mem=4.0), lin(5, 3), lambda e: sl.LIF(tau_mem=4.0)),
             dynamics=f"Linear-LIF-Linear-LIF (plain, not Squeeze; the Input type keeps the time axis), "
                      f"defaults, tau_mem=4: {lif_eq}",
             layers={"1": "LIF tau_mem=4 thr=1 MultiSpike", "3": "LIF tau_mem=4 thr=1 MultiSpike"}),
        dict(name="b_cnn", seed=2, input_shape=(1, 8, 8), feed=sq_feed,
             build=seq(32, lambda e: torch.nn.Conv2d(1, 2, 3), iaf(1.0), lambda e: sl.SumPool2d(2),
                       lambda e: torch.nn.Flatten(), lin(18, 3), iaf(1.0)),
             dynamics="Conv2d(1->2,k3)-IAFSqueeze-SumPool2d(2)-Flatten-Linear(18->3)-IAFSqueeze, MultiSpike: "
                      "V+=I; S=floor(V/thr) if V>0; V-=S*thr",
             layers={"1": "IAFSqueeze thr=1 MultiSpike on (2,6,6)", "5": "IAFSqueeze thr=1 MultiSpike"}),
        dict(name="c_recurrent", seed=3, input_shape=(4,), plain=True,
             feed=f"net(x.transpose(0, 1)): LIFRecurrent takes (batch={B}, T, N)", scales=(1.0,),
             build=seq(33, lin(4, 5), lambda e: sl.LIFRecurrent(tau_mem=4.0, rec_connect=torch.nn.Linear(5, 5)),
                       lin(5, 3), lambda e: sl.LIF(tau_mem=4.0)),
             dynamics="Linear-LIFRecurrent(rec_connect=Linear(5,5))-Linear-LIF",
             layers={"1": "LIFRecurrent", "3": "LIF"}),
        dict(name="d_synaptic", seed=4, input_shape=(4,), feed=sq_feed,
             build=seq(42, lin(4, 5), lif(tau_syn=2.0), lin(5, 3), lif(tau_syn=2.0)),
             dynamics="Linear-LIFSqueeze(tau_syn=2)-Linear-LIFSqueeze(tau_syn=2), tau_mem=4: i[t]=b*(i[t-1]+I[t]), "
                      "b=exp(-1/tau_syn); V[t]=a*V[t-1]+(1-a)*i[t]; MultiSpike; the exporter drops tau_syn",
             layers={"1": "LIFSqueeze tau_mem=4 tau_syn=2 thr=1 MultiSpike", "3": "same"}),
        dict(name="f_multispike", seed=6, input_shape=(4,), feed=sq_feed, scales=(1.4,),
             build=seq(36, lin(4, 5), iaf(0.25), lin(5, 3), iaf(0.25)),
             dynamics="Linear-IAFSqueeze-Linear-IAFSqueeze thr=0.25, MultiSpike: S=floor(V/thr) if V>0 (several per "
                      "step); V-=S*thr",
             layers={"1": "IAFSqueeze thr=0.25 MultiSpike", "3": "IAFSqueeze thr=0.25 MultiSpike"}),
        dict(name="g_integer", seed=7, input_shape=(4,), feed=sq_feed, build=integer, integer=True,
             dynamics="integer weights in {-1,0,1,2} (no bias; exported as Affine with zero bias), IAFSqueeze thr=2 "
                      "MultiSpike: V hits 2 exactly and spikes (floor(V/thr)>=1 iff V>=thr)",
             layers={"1": "IAFSqueeze thr=2 MultiSpike", "3": "IAFSqueeze thr=2 MultiSpike"}),
    ]
    for case in cases:
        plain = case.get("plain", False)
        case["simulate"] = (lambda net, x, sq=not plain: simulate(net, x, sq))
        case["export"] = exporter((B, T, 4) if plain else (B * T, *case["input_shape"]))
    common = [f"framework=sinabs {version('sinabs')}", f"nir={version('nir')}", f"nirtorch={version('nirtorch')}",
              f"torch={torch.__version__}"]
    return cases, common


# ----------------------------------------------------------------------------------------------------- Rockpool
def rockpool_cases() -> tuple[list[dict], list[str]]:
    import rockpool
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFNeuronTorch, LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.nir import to_nir

    dt = 1e-3
    neuron_types = (LIFTorch, LIFNeuronTorch)

    def simulate(net, x):
        net.reset_state()
        h = torch.from_numpy(x).transpose(0, 1).contiguous()  # (B, T, N)
        rec = {}
        with torch.no_grad():
            for name, mod in net.modules().items():
                h, _, _ = mod(h)
                if isinstance(mod, neuron_types):
                    rec[name] = h.transpose(0, 1).reshape(T, B, -1).numpy().copy()
        net.reset_state()
        return rec

    def export(net):
        return to_nir(net), "rockpool.nn.modules.torch.nir.to_nir(net)  (sample_data default torch.zeros((1, size_in)))"

    def lin(i, o, scale, gen):
        return LinearTorch((i, o), weight=torch.randn(i, o, generator=gen) * scale / math.sqrt(i))

    def build_with(seed, neuron):
        def build(scale, eps=0.0):
            gen = torch.Generator().manual_seed(seed)
            return Sequential(lin(4, 5, scale, gen), neuron(5), lin(5, 3, scale, gen), neuron(3))
        return build

    def rec_build(scale, eps=0.0):
        gen = torch.Generator().manual_seed(49)
        layer0 = lin(4, 5, scale, gen)
        w_rec = torch.randn(5, 5, generator=gen) * 0.5 / math.sqrt(5)  # not scaled: multi-spike feedback runs away
        return Sequential(layer0, LIFTorch(5, tau_mem=0.01, tau_syn=0.004, has_rec=True, w_rec=w_rec,
                                                          dt=dt),
                          lin(5, 3, scale, gen), LIFTorch(3, tau_mem=0.01, tau_syn=0.004, dt=dt))

    half = dt / math.log(2.0)  # exp(-dt/tau) == 0.5 exactly in float32

    def integer(scale, eps=0.0):
        gen = torch.Generator().manual_seed(47)
        w1 = torch.randint(-1, 3, (4, 5), generator=gen).float()
        w2 = torch.randint(-1, 3, (5, 3), generator=gen).float()
        return Sequential(LinearTorch((4, 5), weight=w1), LIFNeuronTorch(5, tau_mem=half, threshold=2.0 + eps, dt=dt),
                          LinearTorch((5, 3), weight=w2), LIFNeuronTorch(3, tau_mem=half, threshold=2.0 + eps, dt=dt))

    lif = "LIFTorch: i[t]=b*(i[t-1]+I[t]+S[t-1]@w_rec); V[t]=a*V[t-1]+i[t]+bias; S=floor(V/thr) if V>=thr; V-=S*thr"
    feed = (f"Sequential's submodules called in turn on x.transpose(0, 1): the framework takes (batch={B}, T, N); "
            f"net.reset_state() first")
    names = "spikes keys are the Sequential submodule names, which are also the nir node names"
    cases = [
        dict(name="a_linear", seed=1, input_shape=(4,),
             build=build_with(52, lambda n: LIFNeuronTorch(n, tau_mem=0.01, dt=dt)),
             dynamics="LinearTorch-LIFNeuronTorch-LinearTorch-LIFNeuronTorch, tau_mem=10ms dt=1ms: "
                      "V[t]=a*V[t-1]+I[t]+bias, a=exp(-dt/tau); S=floor(V/thr) if V>=thr; V-=S*thr",
             layers={"1_LIFNeuronTorch": "LIFNeuronTorch tau_mem=10ms thr=1", "3_LIFNeuronTorch": "same"}),
        dict(name="b_cnn", seed=2, input_shape=(1, 8, 8), build=None, layers={},
             dynamics="CNN", skip="rockpool.nn.modules.torch.nir has no mapping for convolution or pooling "
                                  "(_extract_rockpool_module maps only ExpSynTorch, LIFTorch, LinearTorch, "
                                  "LIFNeuronTorch)"),
        dict(name="c_recurrent", seed=3, input_shape=(4,), build=rec_build,
             dynamics=f"LinearTorch-LIFTorch(has_rec=True)-LinearTorch-LIFTorch, tau_mem=10ms tau_syn=4ms: {lif}; "
                      f"the exporter drops w_rec",
             layers={"1_LIFTorch": "LIFTorch recurrent (w_rec[i,j] from i to j)", "3_LIFTorch": "LIFTorch"}),
        dict(name="d_synaptic", seed=4, input_shape=(4,),
             build=build_with(44, lambda n: LIFTorch(n, tau_mem=0.01, tau_syn=0.004, dt=dt)),
             dynamics=f"LinearTorch-LIFTorch-LinearTorch-LIFTorch, tau_mem=10ms tau_syn=4ms dt=1ms: {lif}",
             layers={"1_LIFTorch": "LIFTorch tau_mem=10ms tau_syn=4ms thr=1", "3_LIFTorch": "same"}),
        dict(name="f_multispike", seed=6, input_shape=(4,),
             build=build_with(46, lambda n: LIFTorch(n, tau_mem=0.01, tau_syn=0.004, threshold=0.25,
                                                     max_spikes_per_dt=3, dt=dt)),
             dynamics=f"LIFTorch thr=0.25 max_spikes_per_dt=3: S=min(floor(V/thr), 3) if V>=thr; {lif}",
             layers={"1_LIFTorch": "LIFTorch thr=0.25 max_spikes_per_dt=3", "3_LIFTorch": "same"}),
        dict(name="g_integer", seed=7, input_shape=(4,), build=integer, integer=True,
             dynamics="integer weights in {-1,0,1,2} (no bias), LIFNeuronTorch a=exp(-dt/tau)=0.5 exactly (tau=dt/ln2) "
                      "thr=2: V hits 2 exactly and spikes (V>=thr)",
             layers={"1_LIFNeuronTorch": "LIFNeuronTorch a=0.5 thr=2", "3_LIFNeuronTorch": "same"}),
    ]
    for case in cases:
        case["simulate"] = simulate
        case["export"] = export
        case["feed"] = feed
        case["notes"] = [names]
    common = [f"framework=rockpool {rockpool.__version__}", f"nir={version('nir')}",
              f"nirtorch={version('nirtorch')}", f"torch={torch.__version__}"]
    return cases, common


FRAMEWORKS = {"snntorch": snntorch_cases, "norse": norse_cases, "sinabs": sinabs_cases, "rockpool": rockpool_cases}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("framework", choices=sorted(FRAMEWORKS))
    parser.add_argument("--out", default="tests/fixtures/frameworks")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)
    cases, common = FRAMEWORKS[args.framework]()
    print("\n".join(common))
    written = run_cases(args.framework, cases, args.out, common)
    print(f"\n{args.framework}: wrote {len(written)} case(s): {', '.join(written) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
