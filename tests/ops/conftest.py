"""The stand-in fixture of the channel tests, for the operations tests."""

from tests.channels.conftest import standin

__all__ = ["standin"]
