"""A recipe: a 64-64-10 LIF network for the ``digits`` dataset by ANN-to-SNN conversion (the demo
model before ``snnemu train`` made it; ``make model`` trains it now).

How: a small ReLU MLP without biases (64-64-10) is trained with NumPy (full
batch, Adam, softmax cross-entropy) on the digits training split, then
converted to a spiking network (ANN-to-SNN conversion): weights are kept,
neurons become LIF with subtract reset, and each layer's threshold is set
from the 99th percentile of its ReLU activations on the training set
(data-based normalization), scaled by the input's spike rate. The leak
(``beta``) and a global threshold scale are chosen on the training set by a
layered-mode run of the functional reference. The result is written as NIR with ``dt`` and
``reset`` in the metadata, and its accuracy is measured on the chip in
layered mode on the test split.

Run: ``python scripts/convert_ann_model.py [--out build/converted_digits.nir]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nir
import numpy as np

from emulator import RunConfig, network_from_nir, run, simulate
from traces.digits import digits_arrays, encode_rate

DT_S = 1e-3
N_FRAMES = 16
MAX_RATE = 0.5


def train_mlp(x, y, hidden=64, epochs=400, lr=0.01, seed=0):
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, np.sqrt(2 / x.shape[1]), (x.shape[1], hidden))
    w2 = rng.normal(0, np.sqrt(2 / hidden), (hidden, 10))
    params = [w1, w2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(10)[y]
    for step in range(1, epochs + 1):
        h = np.maximum(x @ w1, 0)
        logits = h @ w2
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g_logits = (p - onehot) / len(x)
        g2 = h.T @ g_logits
        g1 = x.T @ ((g_logits @ w2.T) * (h > 0))
        for i, g in enumerate((g1, g2)):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            params[i] -= lr * (m[i] / (1 - 0.9**step)) / (np.sqrt(v[i] / (1 - 0.999**step)) + 1e-8)
    return w1, w2


def calibration_accuracy(graph: nir.NIRGraph, frames: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy of the converted network in layered mode, run by snnemu's functional reference."""
    res = simulate(network_from_nir(graph, "demo"), frames, RunConfig(mode="layered"))
    return float((res.pred_rate == labels).mean())


def to_nir(w1, w2, th1, th2, beta) -> nir.NIRGraph:
    tau = DT_S / (1 - beta)

    def lif(n, th):
        return nir.LIF(tau=np.full(n, tau), r=np.full(n, tau / DT_S), v_leak=np.zeros(n),
                       v_threshold=np.full(n, th))

    nodes = {"input": nir.Input(input_type=np.array([64])),
             "fc1": nir.Linear(weight=w1.T.copy()), "lif1": lif(w1.shape[1], th1),
             "fc2": nir.Linear(weight=w2.T.copy()), "lif2": lif(10, th2),
             "output": nir.Output(output_type=np.array([10]))}
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT_S, "reset": "subtract"})


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "build" / "converted_digits.nir"))
    args = ap.parse_args(argv)
    x_tr, y_tr = digits_arrays("train")
    x_te, y_te = digits_arrays("test")
    w1, w2 = train_mlp(x_tr, y_tr)
    ann_acc = float(((np.maximum(x_te @ w1, 0) @ w2).argmax(1) == y_te).mean())
    h = np.maximum(MAX_RATE * x_tr @ w1, 0)
    th1 = float(np.percentile(h, 99))
    th2 = float(np.percentile(np.maximum(h / th1 @ w2, 0), 99))
    frames = encode_rate(x_tr, N_FRAMES, MAX_RATE, seed=1)  # calibration draws, not the test data
    best = None
    for beta in (0.98, 0.95, 0.9):
        for scale in (0.5, 0.7, 1.0, 1.4, 2.0):
            acc = calibration_accuracy(to_nir(w1, w2, th1 * scale, th2 * scale, beta), frames, y_tr)
            print(f"  beta {beta}, threshold scale {scale}: train accuracy {acc:.3f}")
            if best is None or acc > best[0]:
                best = (acc, beta, scale)
    acc_tr, beta, scale = best
    graph = to_nir(w1, w2, th1 * scale, th2 * scale, beta)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    nir.write(args.out, graph)
    print(f"ANN test accuracy {ann_acc:.3f}; SNN (beta={beta}, threshold scale {scale}) "
          f"train accuracy {acc_tr:.3f} in the calibration simulation")

    res = run(RunConfig(model=args.out, hw="ideal", data="digits", mode="layered"))
    correct = [r["correct"] for r in res.per_sample]
    print(f"chip, layered mode, digits test split: accuracy {np.mean(correct):.3f} "
          f"over {len(correct)} samples -> {args.out}")


if __name__ == "__main__":
    main()
