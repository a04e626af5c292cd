"""Results back in input order: domains complete out of order (a slow MX host holds one
back while the next ten finish), but a person reading the terminal, or a script comparing two
runs, expects the order they gave."""
from __future__ import annotations

from collections.abc import Callable

from scanner.result import DomainResult


class InputOrder:
    """``add`` results in any order; ``emit`` sees them by input position, each as soon as
    every earlier position has been emitted. ``flush`` emits what is held back (after an
    interrupted scan: the finished ones, in order, skipping the gaps). Holds at most the
    results that finished ahead of the earliest unfinished one."""

    def __init__(self, emit: Callable[[DomainResult], None], first: int = 0) -> None:
        self.emit = emit
        self.next = first
        self.held: dict[int, DomainResult] = {}

    def add(self, r: DomainResult) -> None:
        self.held[r.evidence.position] = r
        while self.next in self.held:
            self.emit(self.held.pop(self.next))
            self.next += 1

    def flush(self) -> None:
        for position in sorted(self.held):
            self.emit(self.held.pop(position))
