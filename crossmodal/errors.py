"""Typed errors: the library raises these; the CLI turns them into one-line messages and exit codes."""

from __future__ import annotations


class CrossmodalError(Exception):
    """Base class for every error the user should see as a one-line message."""

    exit_code = 1


class UserError(CrossmodalError):
    """Bad input from the user: a missing file, an empty query, an unknown option value."""


class StoreError(CrossmodalError):
    """The store is missing, unreadable, or written by an incompatible version."""


class StoreEmptyError(StoreError):
    """The store exists but nothing was ever committed to its catalog."""


class StoreLockedError(CrossmodalError):
    """Another process holds the store's write lock."""

    exit_code = 75


class MediaError(CrossmodalError):
    """A media file could not be read or decoded; recorded per file, never fatal to a run."""


class EncoderError(CrossmodalError):
    """An encoder could not be loaded (missing weights, missing package)."""
