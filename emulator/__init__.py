"""snnemu: a discrete-event emulator of a many-core neuromorphic chip.

The public Python API, importable from here (loaded on first use, so that
``import emulator`` stays cheap)::

    from emulator import RunConfig, run, write_records
    res = run(RunConfig(model="model.nir", hw="loihi", mode="async"))
    write_records(res, "out")

See docs/design.md, "Architecture", for the packages behind these names.
"""

from importlib import import_module

__version__ = "0.3.0"

# public name -> the module that defines it
_PUBLIC = {
    "RunConfig": "emulator.config", "validate": "emulator.config",
    "run": "emulator.runner", "run_network": "emulator.runner", "load_inputs": "emulator.runner",
    "RunResult": "emulator.runner",
    "InputError": "emulator.errors", "DeadlockError": "emulator.errors",
    "DEMO_MODEL": "emulator.model", "DEMO_UNLAYERED_MODEL": "emulator.model", "Network": "emulator.model", "load_nir": "emulator.model",
    "save_nir": "emulator.model", "network_from_nir": "emulator.model", "network_to_nir": "emulator.model",
    "simulate": "emulator.functional", "FunctionalRun": "emulator.functional",
    "write_records": "emulator.records", "load_run": "emulator.records", "summarize": "emulator.records",
    "write_report": "emulator.reports", "write_comparison": "emulator.reports",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'emulator' has no attribute {name!r}")


def __dir__():
    return __all__
