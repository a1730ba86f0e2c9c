"""hlsnake: cross-stage design flows for neural networks on FPGAs."""

__version__ = "0.1.0"
