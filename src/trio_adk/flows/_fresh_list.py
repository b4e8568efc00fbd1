"""A list of kept history contents that hands each item out as a fresh copy.

User code that sees a request (a model of the user's own, a before-model callback) may
change the ``Content`` objects in ``request.contents``: each request must hold its own.
Copying the whole history for every request costs time in proportion to it, while such
code usually reads only the newest contents, if any.  So the request gets a
:class:`FreshOnRead` list: it starts out holding the kept objects, and replaces an item
by a fresh copy (a new ``Content`` with a new ``parts`` list; the parts themselves are
shared with the session's events, as before) the first time the item is read.  What user
code can reach is always its own copy; what it never reads is never copied.

Every way of reading items goes through the copy (indexing, slices, iteration, ``pop``,
``copy``, pickling and ``copy.deepcopy``).  Items the caller puts in (``append``,
``insert``, assignment) are the caller's own and are not copied.  Reordering the list as a
whole (``sort``, ``reverse``, slice assignment, ``*=``) copies every item first.  C code
that reads a list's storage directly (the ``json`` module's encoder, for one) sees the kept
objects; it only reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, SupportsIndex, overload

from google.genai import types


class FreshOnRead(list[types.Content]):
    """A ``list`` of ``Content`` whose items are copied the first time they are read."""

    __slots__ = ("_copy", "_fresh")

    def __init__(self, kept: Iterable[types.Content],
                 copy: Callable[[types.Content], types.Content]) -> None:
        super().__init__(kept)
        self._copy = copy
        self._fresh = bytearray(len(self))  # 1: the item is the list's own

    def _own(self, index: int) -> types.Content:
        item = list.__getitem__(self, index)
        if not self._fresh[index]:
            item = self._copy(item)
            list.__setitem__(self, index, item)
            self._fresh[index] = 1
        return item

    def _position(self, index: SupportsIndex) -> int:
        position = index.__index__()
        size = len(self)
        if position < 0:
            position += size
        if not 0 <= position < size:
            raise IndexError("list index out of range")
        return position

    def _own_all(self) -> None:
        for index in range(len(self)):
            self._own(index)

    @overload
    def __getitem__(self, index: SupportsIndex) -> types.Content: ...

    @overload
    def __getitem__(self, index: slice) -> list[types.Content]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> types.Content | list[types.Content]:
        if isinstance(index, slice):
            return [self._own(i) for i in range(*index.indices(len(self)))]
        return self._own(self._position(index))

    def __iter__(self) -> Iterator[types.Content]:
        index = 0
        while index < len(self):
            yield self._own(index)
            index += 1

    def __reversed__(self) -> Iterator[types.Content]:
        index = len(self) - 1
        while index >= 0:
            if index < len(self):
                yield self._own(index)
            index -= 1

    @overload
    def __setitem__(self, index: SupportsIndex, value: types.Content) -> None: ...

    @overload
    def __setitem__(self, index: slice, value: Iterable[types.Content]) -> None: ...

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            self._own_all()
            list.__setitem__(self, index, value)
            self._fresh = bytearray(b"\x01" * len(self))
            return
        position = self._position(index)
        list.__setitem__(self, position, value)
        self._fresh[position] = 1

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        list.__delitem__(self, index)
        del self._fresh[index]

    def pop(self, index: SupportsIndex = -1) -> types.Content:
        position = self._position(index)
        item = self._own(position)
        list.__delitem__(self, position)
        del self._fresh[position]
        return item

    def insert(self, index: SupportsIndex, value: types.Content) -> None:
        size = len(self)
        position = index.__index__()
        position = max(0, position + size) if position < 0 else min(position, size)
        list.insert(self, position, value)
        self._fresh.insert(position, 1)

    def append(self, value: types.Content) -> None:
        list.append(self, value)
        self._fresh.append(1)

    def extend(self, values: Iterable[types.Content]) -> None:
        added = list(values)
        list.extend(self, added)
        self._fresh.extend(b"\x01" * len(added))

    def __iadd__(self, values: Iterable[types.Content]) -> FreshOnRead:  # type: ignore[override]
        self.extend(values)
        return self

    def __imul__(self, times: SupportsIndex) -> FreshOnRead:
        self._own_all()
        list.__imul__(self, times)
        self._fresh = bytearray(b"\x01" * len(self))
        return self

    def remove(self, value: types.Content) -> None:
        del self[self.index(value)]

    def clear(self) -> None:
        list.clear(self)
        self._fresh = bytearray()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._own_all()
        list.sort(self, *args, **kwargs)

    def reverse(self) -> None:
        self._own_all()
        list.reverse(self)

    def copy(self) -> list[types.Content]:
        return list(self)

    def __add__(self, other: list[types.Content]) -> list[types.Content]:  # type: ignore[override]
        return [*self, *other]

    def __mul__(self, times: SupportsIndex) -> list[types.Content]:
        return list(self) * times

    __rmul__ = __mul__

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return (list, (list(self),))

    def __copy__(self) -> list[types.Content]:
        return list(self)
