"""A minimal observer: callbacks registered on a named event of the view model.

Why not Qt signals: the view model must run (and be tested) without Qt. Callbacks run
synchronously, in the order connected, on the caller's thread; the view model is only touched
from the GUI thread, so nothing here needs a lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Event(Generic[T]):
    """Callbacks of one kind of change; ``emit(value)`` calls each with the new value."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], object]] = []

    def connect(self, callback: Callable[[T], object]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[T], object]) -> None:
        self._callbacks.remove(callback)

    def emit(self, value: T) -> None:
        for cb in list(self._callbacks):  # a callback may disconnect itself
            cb(value)
