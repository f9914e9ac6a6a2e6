"""Read-only JSON containers, so an event is a value all the way down.

Why: one event object is handed to every subscriber, ``wait()``, ``get().terminal`` and the
store. If a consumer could edit ``event.data`` or ``event.result`` in place, it would change
what everybody else sees. Events are frozen models; their JSON containers (``inputs``,
``data``, ``result``) are frozen too, when the event is validated — once, at construction,
so nobody pays per subscriber. A frozen container is a ``dict`` / ``list`` (it compares,
serialises and type-checks as one); every in-place change raises ``TypeError``. ``dict(x)`` /
``list(x)`` give a mutable (shallow) copy; ``copy.deepcopy`` a frozen one.

The same walk refuses text JSON cannot encode (a lone surrogate such as ``"\\ud800"``): pydantic
accepts such a ``str``, but it cannot be written as UTF-8 JSON, so the log, the store and the
replay could never hold the event the live subscribers got.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["FrozenDict", "FrozenList", "encodable", "freeze_json"]


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        f"{type(self).__name__} is read-only: events are shared with every subscriber; "
        "copy it first (dict(x), list(x)) to change it"
    )


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses every in-place change (``TypeError``)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[Any, ...]:  # pickle/copy without __setitem__
        return (FrozenDict, (dict(self),))


class FrozenList(list[Any]):
    """A ``list`` that refuses every in-place change (``TypeError``)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = pop = remove = clear = sort = reverse = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenList, (list(self),))


def encodable(text: str) -> bool:
    """True if ``text`` can be written as UTF-8 (False for a lone surrogate). ASCII: ~70 ns."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check(text: str) -> str:
    if not encodable(text):
        raise ValueError(f"text JSON cannot encode (a lone surrogate) in {text!r}")
    return text


def freeze_json(value: Any) -> Any:
    """A validated JSON value with its dicts and lists made read-only and its text checked."""
    kind = type(value)
    if kind is str:
        return _check(value)
    if kind is dict or kind is FrozenDict:
        return FrozenDict({_check(k): freeze_json(v) for k, v in value.items()})
    if kind is list or kind is FrozenList:
        return FrozenList([freeze_json(v) for v in value])
    return value
