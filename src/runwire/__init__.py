"""runwire: deterministic, streaming, cancellable runs on pykka actors.

The wire protocol lives in :mod:`runwire.protocol`, the runtime in :mod:`runwire.actors`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("runwire")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = ["__version__"]
