"""The simulation compiler: catalog + simulation templates -> one standalone locustfile per target.

Stages, one module each: load -> validate -> resolve -> model -> render -> write, driven by cli.
"""

__version__ = "0.1.0"
