"""A pydantic-flavoured surface for our attrs value types.

ADK's value types are pydantic models, and ported code calls ``model_dump``,
``model_dump_json``, ``model_copy`` and ``model_validate`` on them.  Our value
types are attrs classes; this mixin gives them those spellings, backed by
:mod:`trio_adk._utils._serde` (camelCase JSON, ``None`` omitted, bytes as base64).
"""

from __future__ import annotations

import copy
import json
from typing import Any, Self

import attrs

from trio_adk._utils import _serde


class ModelMixin:
    """Mixin for attrs classes: pydantic-compatible dump/validate/copy methods."""

    __slots__ = ()

    def model_dump(
        self,
        *,
        mode: str = "python",
        by_alias: bool = False,
        exclude_none: bool = False,
    ) -> dict[str, Any]:
        """Return the fields as a dict.

        ``mode="json"`` gives JSON-ready values (base64 bytes, lists for sets,
        genai types dumped); ``by_alias=True`` uses camelCase keys.
        """
        return _serde.dump(self, json_mode=(mode == "json"), by_alias=by_alias,
                           exclude_none=exclude_none)

    def model_dump_json(self, *, by_alias: bool = True, exclude_none: bool = True,
                        indent: int | None = None) -> str:
        """Serialise to JSON: camelCase keys and no ``None`` values by default."""
        return json.dumps(
            _serde.dump(self, json_mode=True, by_alias=by_alias, exclude_none=exclude_none),
            indent=indent,
            ensure_ascii=False,
        )

    @classmethod
    def model_validate(cls, data: Any) -> Self:
        """Build an instance from a dict with camelCase or snake_case keys.

        Unknown keys are ignored, so JSON written by newer versions (or by ADK) loads.
        """
        if isinstance(data, cls):
            return data
        return _serde.load(cls, data)

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Self:
        """Parse JSON text produced by :meth:`model_dump_json` or by ADK."""
        return _serde.load(cls, json.loads(text))

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Self:
        """Return a copy, optionally deep, with ``update`` applied on top."""
        new = copy.deepcopy(self) if deep else copy.copy(self)
        if update:
            for key, value in update.items():
                setattr(new, key, value)
        return new

    def __copy__(self) -> Self:
        cls = type(self)
        new = cls.__new__(cls)
        for a in attrs.fields(cls):  # type: ignore[arg-type]
            object.__setattr__(new, a.name, getattr(self, a.name))
        return new
