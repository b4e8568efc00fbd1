"""FreshOnRead: whatever a caller does with a request's history list, it sees the same
values as with a list of fresh copies, and never reaches (or changes) a kept object."""

# The suite asserts `expected == actual`.

from __future__ import annotations

import copy
import pickle
from typing import Any

from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_adk.flows._fresh_list import FreshOnRead
from trio_adk.flows._history_cache import fresh_content


def content(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


OPS = st.lists(st.tuples(st.sampled_from([
    "get", "get_neg", "slice", "iter", "reversed", "set", "set_slice", "del", "del_slice",
    "pop", "insert", "append", "extend", "iadd", "remove", "sort", "reverse", "copy",
    "add", "mul", "imul", "clear", "deepcopy", "pickle", "mutate_read", "contains"]),
    st.integers(-6, 6)), max_size=25)


def apply(target: Any, op: str, n: int, reads: list[types.Content]) -> Any:
    """Do ``op`` on ``target``; items read are appended to ``reads`` (and mutated by
    ``mutate_read``).  Returns a comparable result."""
    size = len(target)
    if op in ("get", "get_neg", "pop", "mutate_read") and not size:
        return None
    if op == "get":
        item = target[n % size]
        reads.append(item)
        return item.parts[0].text
    if op == "get_neg":
        item = target[-(n % size) - 1]
        reads.append(item)
        return item.parts[0].text
    if op == "mutate_read":
        item = target[n % size]
        item.parts.append(types.Part(text="added"))
        item.role = "model"
        reads.append(item)
        return None
    if op == "slice":
        got = target[n:]
        reads.extend(got)
        return [c.parts[0].text for c in got]
    if op == "iter":
        got = list(iter(target))
        reads.extend(got)
        return len(got)
    if op == "reversed":
        got = list(reversed(target))
        reads.extend(got)
        return len(got)
    if op == "set" and size:
        target[n % size] = content(f"set{n}")
    elif op == "set_slice":
        target[0:abs(n)] = [content(f"s{n}")]
    elif op == "del" and size:
        del target[n % size]
    elif op == "del_slice":
        del target[abs(n):]
    elif op == "pop":
        item = target.pop(n % size)
        reads.append(item)
        return item.parts[0].text
    elif op == "insert":
        target.insert(n, content(f"ins{n}"))
    elif op == "append":
        target.append(content(f"app{n}"))
    elif op == "extend":
        target.extend([content(f"ext{n}"), content(f"ext{n}b")])
    elif op == "iadd":
        target += [content(f"iadd{n}")]
    elif op == "remove" and size:
        target.remove(target[n % size])
    elif op == "sort":
        target.sort(key=lambda c: c.parts[0].text or "")
    elif op == "reverse":
        target.reverse()
    elif op == "copy":
        got = target.copy()
        reads.extend(got)
        return [c.parts[0].text for c in got]
    elif op == "add":
        got = target + [content("added")]  # noqa: RUF005 (the operator is under test)
        reads.extend(got)
        return len(got)
    elif op == "mul":
        got = target * 2
        reads.extend(got)
        return len(got)
    elif op == "imul":
        target *= 1
    elif op == "clear":
        target.clear()
    elif op == "deepcopy":
        return [c.parts[0].text for c in copy.deepcopy(target)]
    elif op == "pickle":
        return [c.parts[0].text for c in pickle.loads(pickle.dumps(target))]
    elif op == "contains":
        return content("k0") in target
    return None


@settings(max_examples=400, deadline=None)
@given(size=st.integers(0, 6), ops=OPS)
def test_a_fresh_on_read_list_behaves_as_a_list_of_copies(
        size: int, ops: list[tuple[str, int]]) -> None:
    kept = [content(f"k{i}") for i in range(size)]
    snapshot = [c.model_dump() for c in kept]
    proxy = FreshOnRead(kept, fresh_content)
    plain = [fresh_content(c) for c in kept]
    proxy_reads: list[types.Content] = []
    plain_reads: list[types.Content] = []
    for op, n in ops:
        assert apply(plain, op, n, plain_reads) == apply(proxy, op, n, proxy_reads), op
        assert [c.model_dump() for c in plain] == [c.model_dump() for c in list(proxy)]
    # Nothing kept was handed out or changed.
    assert not any(read is k for read in proxy_reads for k in kept)
    assert snapshot == [c.model_dump() for c in kept]


def test_only_what_is_read_is_copied() -> None:
    kept = [content(f"k{i}") for i in range(1000)]
    copies: list[types.Content] = []

    def counting(item: types.Content) -> types.Content:
        copies.append(item)
        return fresh_content(item)

    proxy = FreshOnRead(kept, counting)
    assert "k999" == proxy[-1].parts[0].text
    assert proxy[-1] is proxy[-1]  # copied once, then the list's own
    proxy.insert(0, content("instruction"))
    proxy.append(content("artifact"))
    assert [kept[-1]] == copies
