r"""Reading the YAML files people edit (parameter sets, switch definitions, the pipeline) safely.

A YAML alias (``*name``) stands for the whole value anchored earlier as ``&name``, so a few
aliased lists, each repeating the one before nine times, make a file of under a kilobyte stand
for billions of values ("billion laughs"): such a parameter set ran for minutes and filled
gigabytes of memory before failing. No file of the project needs aliases, so
:class:`NoAliasLoader` refuses the first one while the file is parsed, before any value is
built, and so does a value nested deeper than :data:`MAX_DEPTH` levels (which would otherwise
end in a ``RecursionError``).

Example:
    >>> import yaml

from medlib.errors import MedlibError
    >>> yaml.load("a: [1, 2]", Loader=NoAliasLoader)
    {'a': [1, 2]}
    >>> try:
    ...     yaml.load("a: &x [1, 2]\nb: *x\n", Loader=NoAliasLoader)
    ... except RefusedYAMLError as exc:
    ...     print(exc.problem)
    YAML aliases are not allowed: *x on line 2 repeats the value anchored as &x;
    write the value out in full
"""

from __future__ import annotations

from typing import Any

import yaml

from medlib.errors import MedlibError

__all__ = ["MAX_DEPTH", "NoAliasLoader", "RefusedYAMLError", "UniqueKeyLoader"]

#: Deepest nesting of mappings and lists accepted (the project's files use fewer than 6).
MAX_DEPTH = 50


class RefusedYAMLError(MedlibError, yaml.YAMLError):
    """A YAML file uses an alias, or nests values too deeply; ``problem`` says where.

    A ``yaml.YAMLError``, so code that reports unreadable YAML reports this too.
    """

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


class NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases and values nested deeper than :data:`MAX_DEPTH`.

    The checks run while the file is composed into nodes, so nothing is built from a refused
    file. An anchor without an alias is harmless and accepted.
    """

    def __init__(self, stream: Any):
        super().__init__(stream)
        # Anchors of the collections being composed, innermost last: an alias to one of them
        # is a value that contains itself.
        self._open_anchors: list[str] = []

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        """Compose one node, refusing an alias or a nesting level past :data:`MAX_DEPTH`."""
        event = self.peek_event()
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.AliasEvent) and event.anchor in self.anchors:
            # An undefined alias is left to PyYAML, whose error says so.
            name = event.anchor
            if name in self._open_anchors:
                raise RefusedYAMLError(
                    f"a value contains itself (a YAML alias inside its own anchor): *{name} on "
                    f"line {line} is inside &{name}; YAML aliases are not allowed"
                )
            raise RefusedYAMLError(
                f"YAML aliases are not allowed: *{name} on line {line} repeats the value "
                f"anchored as &{name}; write the value out in full"
            )
        if len(self._open_anchors) >= MAX_DEPTH:
            raise RefusedYAMLError(
                f"values are nested more than {MAX_DEPTH} levels deep (line {line})"
            )
        self._open_anchors.append(getattr(event, "anchor", None) or "")
        try:
            return super().compose_node(parent, index)
        finally:
            self._open_anchors.pop()


class UniqueKeyLoader(NoAliasLoader):
    """A :class:`NoAliasLoader` that also refuses repeated keys, and keeps dates as text.

    YAML keeps the last of two equal keys without a word. Dates stay text so that an impossible
    one (``2024-02-30``) is reported against its key by the caller's checks, not as a parser
    crash. Subclasses word the repeated-key message with :attr:`repeated_key` (fields ``key``,
    ``first``, ``line``).
    """

    repeated_key = "key {key!r} appears twice (lines {first} and {line})"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """Build a mapping, refusing a key that appears twice."""
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the base constructor reports it
                continue
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None, None, self.repeated_key.format(key=key, first=seen[key], line=line)
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in NoAliasLoader.yaml_implicit_resolvers.items()
}
