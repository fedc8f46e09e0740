"""Test doubles and loopback provider emulators for agentkit users.

``FunctionAdapter`` lets a Python function play the model. The emulators are
ASGI apps that speak a provider's wire protocol on a loopback port, so an
adapter's real HTTP path can be exercised without a key or a network.
"""

from ._function import FunctionAdapter, ModelFunction

__all__ = ["FunctionAdapter", "ModelFunction"]
