"""Registry: names → classes of one kind, the one lookup behind ``layers``, ``losses``, ``optim``,
``metrics`` and ``init`` by name, and behind the layer types a model file may build.

A registry only maps names to classes that were registered on purpose; nothing is imported or
evaluated from a name, which is what makes loading a model file safe.
"""
from __future__ import annotations


class Registry:
    """Classes of one kind (``"activation"``, ``"loss"`` …) by name; names are matched in lower case.

    Parameters
    ----------
    kind : str
        What the entries are, for messages: ``unknown loss 'hinge'; known losses: …``.
    base : type
        Instances of it are returned as they are by `get()`.
    described : str
        What `get()` accepts, for its ``TypeError``: ``"a name or a Loss"``.
    argument : str
        The argument that takes these, for that ``TypeError``: ``init must be …`` (default: ``kind``).
    """

    def __init__(self, kind: str, base: type, described: str, plural: str | None = None, argument: str | None = None):
        self.kind = kind
        self.argument = argument or kind
        self.base = base
        self.described = described
        self.plural = plural or f"{kind}s"
        self._entries: dict = {}   # lower-cased name → class
        self._primary: dict = {}   # class → its first name, the one messages list

    def register(self, cls, name: str, *aliases):
        """Register ``cls`` as ``name`` (and ``aliases``), matched in lower case; returns ``cls``."""
        keys = [key.lower() for key in (name, *aliases)]
        for key in keys:   # every name checked before any is stored
            known = self._entries.get(key)
            if known is not None and known is not cls and not _same_definition(known, cls):
                raise ValueError(f"a {self.kind} named {key!r} is already registered "
                                 f"({known.__module__}.{known.__qualname__})")
        for key in keys:
            known = self._entries.get(key)
            if known is not None and known is not cls:   # the class defined again (a notebook cell run twice)
                self.unregister(known)
            self._entries[key] = cls
        self._primary.setdefault(cls, keys[0])
        return cls

    def unregister(self, cls) -> None:
        """Forget every name of ``cls``."""
        self._entries = {key: value for key, value in self._entries.items() if value is not cls}
        self._primary.pop(cls, None)

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name.lower() in self._entries

    def names(self, where=None) -> list:
        """The primary name of every registered class (for which ``where(cls)`` holds), sorted."""
        return sorted(name for cls, name in self._primary.items() if where is None or where(cls))

    def lookup(self, name: str, where=None):
        """The class registered as ``name`` (and satisfying ``where``); ``ValueError`` naming the known ones."""
        cls = self._entries.get(name.lower()) if isinstance(name, str) else None
        if cls is None or (where is not None and not where(cls)):
            raise ValueError(f"unknown {self.kind} {name!r}; known {self.plural}: {', '.join(self.names(where))}")
        return cls

    def get(self, spec, *args, **options):
        """An instance: ``spec`` itself if it is one already, else the class named ``spec`` built with
        ``*args, **options``."""
        if isinstance(spec, self.base):
            return spec
        if isinstance(spec, str):
            return self.lookup(spec)(*args, **options)
        raise TypeError(f"{self.argument} must be {self.described}, got {spec!r}")


def _same_definition(a, b) -> bool:
    return a.__module__ == b.__module__ and a.__qualname__ == b.__qualname__
