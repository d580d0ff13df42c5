"""snnemu: a discrete-event emulator of a many-core neuromorphic chip."""

__all__ = ["__version__"]
__version__ = "0.1.0"
