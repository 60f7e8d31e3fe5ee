"""A pipeline of named, versioned components run in order over batches of documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from nlp.types import AnalysisDoc

# What every document has before any component runs.
BASE_FIELDS = frozenset({"utterances"})


class PipelineError(RuntimeError):
    """A component failed or the pipeline is wired wrongly; the message names the component."""


@runtime_checkable
class Component(Protocol):
    """A named step: loads its weights once in initialize(), then processes batches in place."""

    name: str
    version: str
    requires: tuple[str, ...]
    assigns: tuple[str, ...]

    def initialize(self) -> None:
        """Load models or data; called once before the first batch."""
        ...

    def __call__(self, docs: Sequence[AnalysisDoc]) -> None:
        """Process a batch of documents, filling in the fields named in assigns."""
        ...


class Pipeline:
    """Components in order; checked at build time that each one's requirements are met."""

    def __init__(self, components: Sequence[Component]) -> None:
        available = set(BASE_FIELDS)
        names: set[str] = set()
        for comp in components:
            if comp.name in names:
                raise PipelineError(f"component name {comp.name!r} is used twice")
            names.add(comp.name)
            missing = [r for r in comp.requires if r not in available]
            if missing:
                raise PipelineError(
                    f"component {comp.name!r} requires {missing}, which no earlier component "
                    f"assigns (available: {sorted(available)})"
                )
            available.update(comp.assigns)
        self.components = list(components)
        self._initialized = False

    @property
    def version(self) -> str:
        """The analyzer version stored with every insight: each component's name and version."""
        return "+".join(f"{c.name}@{c.version}" for c in self.components)

    def get(self, name: str) -> Component:
        """The component called name."""
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(name)

    def initialize(self) -> None:
        """Load every component's weights (idempotent)."""
        if self._initialized:
            return
        for comp in self.components:
            try:
                comp.initialize()
            except Exception as exc:
                raise PipelineError(f"component {comp.name!r} failed to initialize: {exc}") from exc
        self._initialized = True

    def __call__(self, docs: Sequence[AnalysisDoc]) -> Sequence[AnalysisDoc]:
        """Run every component over the batch, naming the one that fails."""
        self.initialize()
        for comp in self.components:
            try:
                comp(docs)
            except PipelineError:
                raise
            except Exception as exc:
                raise PipelineError(f"component {comp.name!r} failed: {exc}") from exc
        return docs
