"""The readout rule: which class a sample's output layer says, for both engines."""

from __future__ import annotations

import numpy as np

__all__ = ["predict"]


def predict(output_counts: np.ndarray, output_v: np.ndarray, readout: str) -> np.ndarray:
    """Per sample (rows), the predicted class.

    ``spikes``: the output neuron that fired most (ties to the lower index), -1
    without output spikes. ``membrane`` (an LI output layer): the neuron with
    the highest potential ``output_v`` at the end of the sample.
    """
    if readout == "membrane":
        return output_v.argmax(axis=1)
    return np.where(output_counts.any(axis=1), output_counts.argmax(axis=1), -1)
