"""The schema compiler: realistic MCP-style tool schemas x every target.

Three things are checked for every cell of the table (case x target):

- the changes are exactly the expected ones (path in the original schema,
  kind, keyword, lossy flag), the input is left alone, and the output is
  the same every time (key order included);
- a lossy cell raises ``SchemaCompileError`` unless ``allow_lossy=True``;
- a non-lossy cell *is* non-lossy: every sample instance is accepted or
  rejected by the compiled schema exactly as by the original one (both read
  with ``jsonschema.Draft202012Validator``). The compiled schema is read in
  its own dialect: OpenAPI's ``nullable`` for ``gemini-openapi``; for
  ``llamacpp``, what llama.cpp's converter does (an object without
  ``additionalProperties`` is closed, ``prefixItems`` is a fixed-length
  tuple). For ``openai-strict`` an instance is first given the nulls strict
  mode adds for left-out optional properties, and ``strip_added_nulls`` must
  give the instance back.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from agentkit._schema._types import child
from agentkit._schema._vocab import declared_types, json_equal, json_type, types_overlap
from agentkit._schema_compile import (
    TARGETS,
    CompiledSchema,
    SchemaCompileError,
    changes_to_warnings,
    compile_for_openai,
    compile_schema,
    is_strict_compatible,
    strip_added_nulls,
)

Change = tuple[str, str, str | None, bool]

# -- the table: realistic tool schemas and sample arguments ------------------------------------
# Samples are arguments a model might send; whether each is valid is decided by
# the original schema, not written here.

CASES: dict[str, tuple[dict[str, Any], list[Any]]] = {
    "no_args_empty": (
        {},
        [{}, {"x": 1}],
    ),
    "no_args_object": (
        {"type": "object"},
        [{}, {"x": 1}],
    ),
    "simple": (
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to search for"},
                "limit": {"type": "integer"},
                "verbose": {"type": "boolean"},
            },
            "required": ["query"],
        },
        [
            {"query": "a"},
            {"query": "a", "limit": 3},
            {"query": "a", "limit": 3, "verbose": True},
            {"query": "a", "other": 1},
            {},
            {"query": 1},
            {"query": "a", "limit": "3"},
            {"query": "a", "limit": 2.5},
            {"query": "a", "limit": None},
        ],
    ),
    "optional_default": (
        {
            "type": "object",
            "properties": {
                "location": {"type": "string", "title": "Location"},
                "unit": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "default": "fahrenheit",
                    "title": "Unit",
                },
            },
            "required": ["location"],
            "additionalProperties": False,
        },
        [
            {"location": "Paris"},
            {"location": "Paris", "unit": "celsius"},
            {"location": "Paris", "unit": "kelvin"},
            {"location": "Paris", "unit": None},
            {"location": "Paris", "x": 1},
            {},
        ],
    ),
    "pydantic_defs": (
        {
            "$defs": {
                "Address": {
                    "type": "object",
                    "title": "Address",
                    "properties": {
                        "street": {"type": "string", "title": "Street"},
                        "zip": {"type": "string", "title": "Zip"},
                    },
                    "required": ["street", "zip"],
                    "additionalProperties": False,
                }
            },
            "type": "object",
            "title": "create_contactArguments",
            "properties": {
                "name": {"type": "string", "title": "Name"},
                "home": {"$ref": "#/$defs/Address", "description": "Where they live"},
                "work": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}], "default": None},
            },
            "required": ["name", "home"],
            "additionalProperties": False,
        },
        [
            {"name": "a", "home": {"street": "s", "zip": "z"}},
            {"name": "a", "home": {"street": "s", "zip": "z"}, "work": None},
            {"name": "a", "home": {"street": "s", "zip": "z"}, "work": {"street": "t", "zip": "y"}},
            {"name": "a", "home": {"street": "s"}},
            {"name": "a", "home": {"street": "s", "zip": "z", "x": 1}},
            {"name": "a", "home": {"street": "s", "zip": "z"}, "work": {"street": "t"}},
            {"name": "a"},
        ],
    ),
    "recursive_tree": (
        {
            "$defs": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "label": {"type": "string"},
                        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    },
                    "required": ["label"],
                    "additionalProperties": False,
                }
            },
            "type": "object",
            "properties": {"tree": {"$ref": "#/$defs/Node"}},
            "required": ["tree"],
            "additionalProperties": False,
        },
        [
            {"tree": {"label": "a"}},
            {"tree": {"label": "a", "children": [{"label": "b", "children": [{"label": "c"}]}]}},
            {
                "tree": {
                    "label": "a",
                    "children": [
                        {
                            "label": "b",
                            "children": [
                                {
                                    "label": "c",
                                    "children": [{"label": "d", "children": [{"label": "e"}]}],
                                }
                            ],
                        }
                    ],
                }
            },
            {"tree": {"label": "a", "children": [{"label": 1}]}},
            {
                "tree": {
                    "label": "a",
                    "children": [
                        {
                            "label": "b",
                            "children": [
                                {
                                    "label": "c",
                                    "children": [{"label": "d", "children": [{"nolabel": 1}]}],
                                }
                            ],
                        }
                    ],
                }
            },
            {"tree": {}},
        ],
    ),
    "root_recursion": (
        {
            "type": "object",
            "properties": {
                "tag": {"type": "string", "enum": ["div", "button"]},
                "children": {"type": "array", "items": {"$ref": "#"}},
            },
            "required": ["tag", "children"],
            "additionalProperties": False,
        },
        [
            {"tag": "div", "children": []},
            {"tag": "div", "children": [{"tag": "button", "children": []}]},
            {"tag": "div", "children": [{"tag": "p", "children": []}]},
            {"tag": "div"},
        ],
    ),
    "optional_anyof_null": (
        {
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "encoding": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Encoding",
                },
            },
            "required": ["path"],
        },
        [
            {"path": "/a"},
            {"path": "/a", "encoding": None},
            {"path": "/a", "encoding": "utf-8"},
            {"path": "/a", "encoding": 8},
            {"encoding": "utf-8"},
        ],
    ),
    "anyof_objects": (
        {
            "type": "object",
            "properties": {
                "target": {
                    "anyOf": [
                        {
                            "type": "object",
                            "properties": {"id": {"type": "integer"}},
                            "required": ["id"],
                            "additionalProperties": False,
                        },
                        {
                            "type": "object",
                            "properties": {"name": {"type": "string"}},
                            "required": ["name"],
                            "additionalProperties": False,
                        },
                    ]
                }
            },
            "required": ["target"],
            "additionalProperties": False,
        },
        [
            {"target": {"id": 1}},
            {"target": {"name": "n"}},
            {"target": {"id": "1"}},
            {"target": {"id": 1, "name": "n"}},
            {"target": "n"},
        ],
    ),
    "oneof_tagged": (
        {
            "type": "object",
            "properties": {
                "shape": {
                    "oneOf": [
                        {
                            "type": "object",
                            "properties": {
                                "kind": {"const": "circle"},
                                "radius": {"type": "number"},
                            },
                            "required": ["kind", "radius"],
                            "additionalProperties": False,
                        },
                        {
                            "type": "object",
                            "properties": {"kind": {"const": "square"}, "side": {"type": "number"}},
                            "required": ["kind", "side"],
                            "additionalProperties": False,
                        },
                    ]
                }
            },
            "required": ["shape"],
            "additionalProperties": False,
        },
        [
            {"shape": {"kind": "circle", "radius": 1}},
            {"shape": {"kind": "square", "side": 2.5}},
            {"shape": {"kind": "circle", "side": 1}},
            {"shape": {"kind": "triangle", "side": 1}},
        ],
    ),
    "oneof_overlapping": (
        {
            "type": "object",
            "properties": {
                "id": {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}
            },
            "required": ["id"],
            "additionalProperties": False,
        },
        [{"id": "abcdef"}, {"id": "ab"}, {"id": 1}],
    ),
    "enum_strings": (
        {
            "type": "object",
            "properties": {"order": {"type": "string", "enum": ["asc", "desc"]}},
            "required": ["order"],
            "additionalProperties": False,
        },
        [{"order": "asc"}, {"order": "up"}, {"order": None}, {}],
    ),
    "enum_integers": (
        {
            "type": "object",
            "properties": {"level": {"type": "integer", "enum": [1, 2, 5]}},
            "required": ["level"],
            "additionalProperties": False,
        },
        [{"level": 1}, {"level": 5}, {"level": 5.0}, {"level": 3}, {"level": "1"}, {"level": True}],
    ),
    "enum_with_null": (
        {
            "type": "object",
            "properties": {"mode": {"enum": ["fast", "slow", None]}},
            "required": ["mode"],
            "additionalProperties": False,
        },
        [{"mode": "fast"}, {"mode": None}, {"mode": "medium"}, {"mode": 1}],
    ),
    "const_values": (
        {
            "type": "object",
            "properties": {
                "version": {"const": "v1"},
                "count": {"const": 3},
                "confirm": {"const": True},
            },
            "required": ["version", "count", "confirm"],
            "additionalProperties": False,
        },
        [
            {"version": "v1", "count": 3, "confirm": True},
            {"version": "v2", "count": 3, "confirm": True},
            {"version": "v1", "count": 4, "confirm": True},
            {"version": "v1", "count": 3, "confirm": False},
        ],
    ),
    "additional_true": (
        {
            "type": "object",
            "properties": {"title": {"type": "string"}},
            "required": ["title"],
            "additionalProperties": True,
        },
        [{"title": "t"}, {"title": "t", "tag": "x"}, {}],
    ),
    "additional_schema": (
        {
            "type": "object",
            "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "integer"}}
            },
            "required": ["labels"],
            "additionalProperties": False,
        },
        [{"labels": {}}, {"labels": {"a": 1}}, {"labels": {"a": "1"}}],
    ),
    "additional_false": (
        {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": ["integer", "null"]}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
        [{"a": "x", "b": None}, {"a": "x", "b": 2}, {"a": "x"}, {"a": "x", "b": 2, "c": 1}],
    ),
    "nested_arrays": (
        {
            "type": "object",
            "properties": {
                "rows": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "cells": {"type": "array", "items": {"type": "string"}},
                            "note": {"type": "string"},
                        },
                        "required": ["cells"],
                        "additionalProperties": False,
                    },
                }
            },
            "required": ["rows"],
            "additionalProperties": False,
        },
        [
            {"rows": [{"cells": ["a"]}]},
            {"rows": [{"cells": [], "note": "n"}, {"cells": ["b"]}]},
            {"rows": []},
            {"rows": [{"cells": [1]}]},
            {"rows": [{"note": "n"}]},
        ],
    ),
    "prefix_items": (
        {
            "type": "object",
            "properties": {
                "point": {
                    "type": "array",
                    "prefixItems": [{"type": "number"}, {"type": "number"}],
                    "items": False,
                    "minItems": 2,
                    "maxItems": 2,
                }
            },
            "required": ["point"],
            "additionalProperties": False,
        },
        [
            {"point": [1, 2]},
            {"point": [1.5, -2]},
            {"point": [1]},
            {"point": [1, 2, 3]},
            {"point": [1, "2"]},
        ],
    ),
    "constraints": (
        {
            "type": "object",
            "properties": {
                "slug": {"type": "string", "pattern": "^[a-z]+$"},
                "code": {"type": "string", "minLength": 2, "maxLength": 4},
                "day": {"type": "string", "format": "date"},
                "page": {"type": "integer", "minimum": 1, "exclusiveMaximum": 100},
                "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            },
            "required": ["slug", "code", "day", "page", "ratio"],
            "additionalProperties": False,
        },
        [
            {"slug": "ab", "code": "xy", "day": "2026-01-02", "page": 1, "ratio": 0.5},
            {"slug": "ab", "code": "xy", "day": "2026-01-02", "page": 99, "ratio": 1},
            {"slug": "Ab", "code": "xy", "day": "2026-01-02", "page": 1, "ratio": 0.5},
            {"slug": "ab", "code": "x", "day": "2026-01-02", "page": 1, "ratio": 0.5},
            {"slug": "ab", "code": "xyzzy", "day": "2026-01-02", "page": 1, "ratio": 0.5},
            {"slug": "ab", "code": "xy", "day": "2026-01-02", "page": 100, "ratio": 0.5},
            {"slug": "ab", "code": "xy", "day": "2026-01-02", "page": 0, "ratio": 0.5},
            {"slug": "ab", "code": "xy", "day": "2026-01-02", "page": 1, "ratio": 0},
        ],
    ),
    "integer_bounds": (
        {
            "type": "object",
            "properties": {"n": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}},
            "required": ["n"],
            "additionalProperties": False,
        },
        [{"n": 1}, {"n": 9}, {"n": 0}, {"n": 10}, {"n": 1.5}],
    ),
    "all_of": (
        {
            "type": "object",
            "properties": {
                "item": {
                    "allOf": [
                        {
                            "type": "object",
                            "properties": {"id": {"type": "string"}},
                            "required": ["id"],
                        },
                        {
                            "type": "object",
                            "properties": {"qty": {"type": "integer", "minimum": 1}},
                            "required": ["qty"],
                        },
                    ]
                },
                "owner": {"allOf": [{"$ref": "#/definitions/User"}], "description": "Who owns it"},
            },
            "required": ["item", "owner"],
            "additionalProperties": False,
            "definitions": {
                "User": {
                    "type": "object",
                    "properties": {"login": {"type": "string"}},
                    "required": ["login"],
                    "additionalProperties": False,
                }
            },
        },
        [
            {"item": {"id": "a", "qty": 1}, "owner": {"login": "u"}},
            {"item": {"id": "a", "qty": 1, "x": True}, "owner": {"login": "u"}},
            {"item": {"id": "a"}, "owner": {"login": "u"}},
            {"item": {"id": "a", "qty": 0}, "owner": {"login": "u"}},
            {"item": {"id": "a", "qty": 1}, "owner": {}},
        ],
    ),
    "annotations": (
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$comment": "generated",
            "properties": {
                "city": {
                    "type": "string",
                    "examples": ["Paris"],
                    "deprecated": False,
                    "x-ui": "text",
                },
                "id": {"type": "string", "readOnly": True},
            },
            "required": ["city", "id"],
            "additionalProperties": False,
        },
        [{"city": "a", "id": "b"}, {"city": 1, "id": "b"}, {"city": "a"}],
    ),
    "draft07_definitions": (
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"color": {"$ref": "#/definitions/Color"}},
            "required": ["color"],
            "additionalProperties": False,
            "definitions": {"Color": {"type": "string", "enum": ["red", "green"]}},
        },
        [{"color": "red"}, {"color": "blue"}],
    ),
    "openapi_lowering": (
        {
            "type": "object",
            "properties": {
                "level": {"type": "integer", "enum": [1, 2, 5]},
                "mode": {"enum": ["fast", "slow", None]},
                "count": {"const": 3},
                "key": {"type": ["string", "integer", "null"], "minLength": 2},
                "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            },
            "required": ["level", "mode", "count"],
        },
        [
            {"level": 1, "mode": "fast", "count": 3},
            {"level": 5, "mode": None, "count": 3, "key": "ab", "note": None},
            {"level": 2, "mode": "slow", "count": 3.0, "key": 7, "note": "n"},
            {"level": 2, "mode": "slow", "count": 3, "key": None, "extra": [1]},
            {"level": 3, "mode": "fast", "count": 3},
            {"level": 1, "mode": "medium", "count": 3},
            {"level": 1, "mode": "fast", "count": 4},
            {"level": 1, "mode": "fast", "count": 3, "key": "a"},
            {"level": 1, "mode": "fast", "count": 3, "key": 1.5},
            {"level": 1, "mode": "fast", "count": 3, "note": 1},
            {"level": 1, "mode": "fast"},
        ],
    ),
}

# (path in the original schema, kind, keyword, lossy), in the order the compiler reports them.
EXPECTED: dict[str, dict[str, list[Change]]] = {
    "no_args_empty": {
        "openai-strict": [
            ("#", "root_normalized", None, False),
            ("#", "additional_properties_closed", "additionalProperties", True),
        ],
        "openai": [
            ("#", "root_normalized", None, False),
            ("#", "root_normalized", "properties", False),
        ],
        "gemini": [
            ("#", "root_normalized", None, False),
        ],
        "gemini-openapi": [
            ("#", "root_normalized", None, False),
        ],
        "ollama": [
            ("#", "root_normalized", None, False),
        ],
        "llamacpp": [
            ("#", "root_normalized", None, False),
        ],
    },
    "no_args_object": {
        "openai-strict": [
            ("#", "additional_properties_closed", "additionalProperties", True),
        ],
        "openai": [
            ("#", "root_normalized", "properties", False),
        ],
        "gemini": [],
        "gemini-openapi": [],
        "ollama": [],
        "llamacpp": [],
    },
    "simple": {
        "openai-strict": [
            ("#/properties/limit", "made_nullable", "required", False),
            ("#/properties/verbose", "made_nullable", "required", False),
            ("#", "additional_properties_closed", "additionalProperties", True),
        ],
        "openai": [],
        "gemini": [],
        "gemini-openapi": [],
        "ollama": [],
        "llamacpp": [
            ("#", "additional_properties_explicit", "additionalProperties", False),
        ],
    },
    "optional_default": {
        "openai-strict": [
            ("#/properties/unit", "made_nullable", "required", False),
        ],
        "openai": [],
        "gemini": [
            ("#/properties/unit", "keyword_dropped", "default", False),
        ],
        "gemini-openapi": [
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "pydantic_defs": {
        "openai-strict": [
            ("#/properties/home", "ref_inlined", "$ref", False),
            ("#/properties/work", "made_required", "required", False),
        ],
        "openai": [],
        "gemini": [
            ("#/properties/home", "ref_wrapped", "$ref", False),
            ("#/properties/work", "keyword_dropped", "default", False),
        ],
        "gemini-openapi": [
            ("#/properties/home", "ref_inlined", "$ref", False),
            ("#/properties/home", "keyword_dropped", "additionalProperties", True),
            ("#/properties/work/anyOf/0", "ref_inlined", "$ref", False),
            ("#/$defs/Address", "keyword_dropped", "additionalProperties", True),
            ("#/properties/work", "type_rewritten", "anyOf", False),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [
            ("#/properties/home", "ref_inlined", "$ref", False),
            ("#/properties/work/anyOf/0", "ref_inlined", "$ref", False),
        ],
        "llamacpp": [
            ("#/properties/home", "ref_inlined", "$ref", False),
            ("#/properties/work/anyOf/0", "ref_inlined", "$ref", False),
        ],
    },
    "recursive_tree": {
        "openai-strict": [
            ("#/$defs/Node/properties/children", "made_nullable", "required", False),
        ],
        "openai": [],
        "gemini": [],
        "gemini-openapi": [
            ("#/$defs/Node/properties/children/items", "ref_truncated", "$ref", True),
            ("#/$defs/Node", "keyword_dropped", "additionalProperties", True),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "root_recursion": {
        "openai-strict": [],
        "openai": [],
        "gemini": [
            ("#/properties/children/items", "ref_rewritten", "$ref", False),
            ("#", "defs_moved", "$defs", False),
        ],
        "gemini-openapi": [
            ("#/properties/children/items", "ref_truncated", "$ref", True),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [
            ("#/properties/children/items", "ref_rewritten", "$ref", False),
            ("#", "defs_moved", "$defs", False),
        ],
        "llamacpp": [
            ("#/properties/children/items", "ref_rewritten", "$ref", False),
            ("#", "defs_moved", "$defs", False),
        ],
    },
    "optional_anyof_null": {
        "openai-strict": [
            ("#/properties/encoding", "made_required", "required", False),
            ("#", "additional_properties_closed", "additionalProperties", True),
        ],
        "openai": [],
        "gemini": [
            ("#/properties/encoding", "keyword_dropped", "default", False),
        ],
        "gemini-openapi": [
            ("#/properties/encoding", "type_rewritten", "anyOf", False),
        ],
        "ollama": [],
        "llamacpp": [
            ("#", "additional_properties_explicit", "additionalProperties", False),
        ],
    },
    "anyof_objects": {
        "openai-strict": [],
        "openai": [],
        "gemini": [],
        "gemini-openapi": [
            ("#/properties/target/anyOf/0", "keyword_dropped", "additionalProperties", True),
            ("#/properties/target/anyOf/1", "keyword_dropped", "additionalProperties", True),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "oneof_tagged": {
        "openai-strict": [
            ("#/properties/shape", "one_of_to_any_of", "oneOf", False),
            ("#/properties/shape/oneOf/0/properties/kind", "type_rewritten", "type", False),
            ("#/properties/shape/oneOf/1/properties/kind", "type_rewritten", "type", False),
        ],
        "openai": [],
        "gemini": [
            ("#/properties/shape", "one_of_to_any_of", "oneOf", False),
            ("#/properties/shape/oneOf/0/properties/kind", "const_to_enum", "const", False),
            ("#/properties/shape/oneOf/1/properties/kind", "const_to_enum", "const", False),
        ],
        "gemini-openapi": [
            ("#/properties/shape", "one_of_to_any_of", "oneOf", False),
            ("#/properties/shape/oneOf/0/properties/kind", "const_to_enum", "const", False),
            ("#/properties/shape/oneOf/0", "keyword_dropped", "additionalProperties", True),
            ("#/properties/shape/oneOf/1/properties/kind", "const_to_enum", "const", False),
            ("#/properties/shape/oneOf/1", "keyword_dropped", "additionalProperties", True),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [
            ("#/properties/shape", "one_of_to_any_of", "oneOf", False),
        ],
    },
    "oneof_overlapping": {
        "openai-strict": [
            ("#/properties/id", "one_of_to_any_of", "oneOf", True),
            ("#/properties/id/oneOf/1", "keyword_dropped", "maxLength", True),
        ],
        "openai": [],
        "gemini": [
            ("#/properties/id", "one_of_to_any_of", "oneOf", True),
            ("#/properties/id/oneOf/1", "keyword_dropped", "maxLength", True),
        ],
        "gemini-openapi": [
            ("#/properties/id", "one_of_to_any_of", "oneOf", True),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [
            ("#/properties/id", "one_of_to_any_of", "oneOf", True),
        ],
    },
    "enum_strings": {
        "openai-strict": [],
        "openai": [],
        "gemini": [],
        "gemini-openapi": [
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "enum_integers": {
        "openai-strict": [],
        "openai": [],
        "gemini": [],
        "gemini-openapi": [
            ("#/properties/level", "enum_rewritten", "enum", False),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "enum_with_null": {
        "openai-strict": [
            ("#/properties/mode", "type_rewritten", "type", False),
        ],
        "openai": [],
        "gemini": [
            ("#/properties/mode", "enum_rewritten", "enum", False),
        ],
        "gemini-openapi": [
            ("#/properties/mode", "enum_rewritten", "enum", False),
            ("#/properties/mode", "type_rewritten", "anyOf", False),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "const_values": {
        "openai-strict": [
            ("#/properties/version", "type_rewritten", "type", False),
            ("#/properties/count", "type_rewritten", "type", False),
            ("#/properties/confirm", "type_rewritten", "type", False),
        ],
        "openai": [],
        "gemini": [
            ("#/properties/version", "const_to_enum", "const", False),
            ("#/properties/count", "const_to_enum", "const", False),
            ("#/properties/confirm", "type_rewritten", "const", True),
        ],
        "gemini-openapi": [
            ("#/properties/version", "const_to_enum", "const", False),
            ("#/properties/count", "const_to_enum", "const", False),
            ("#/properties/confirm", "type_rewritten", "const", True),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "additional_true": {
        "openai-strict": [
            ("#", "additional_properties_closed", "additionalProperties", True),
        ],
        "openai": [],
        "gemini": [],
        "gemini-openapi": [
            ("#", "keyword_dropped", "additionalProperties", False),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "additional_schema": {
        "openai-strict": [
            ("#/properties/labels", "additional_properties_closed", "additionalProperties", True),
        ],
        "openai": [],
        "gemini": [],
        "gemini-openapi": [
            ("#/properties/labels", "keyword_dropped", "additionalProperties", True),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "additional_false": {
        "openai-strict": [],
        "openai": [],
        "gemini": [],
        "gemini-openapi": [
            ("#/properties/b", "type_rewritten", "type", False),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "nested_arrays": {
        "openai-strict": [
            ("#/properties/rows/items/properties/note", "made_nullable", "required", False),
        ],
        "openai": [],
        "gemini": [],
        "gemini-openapi": [
            ("#/properties/rows/items", "keyword_dropped", "additionalProperties", True),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "prefix_items": {
        "openai-strict": [
            ("#/properties/point", "tuple_rewritten", "prefixItems", False),
        ],
        "openai": [],
        "gemini": [],
        "gemini-openapi": [
            ("#/properties/point", "tuple_rewritten", "prefixItems", False),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [
            ("#/properties/point", "tuple_rewritten", "prefixItems", False),
        ],
    },
    "constraints": {
        "openai-strict": [
            ("#/properties/code", "keyword_dropped", "minLength", True),
            ("#/properties/code", "keyword_dropped", "maxLength", True),
        ],
        "openai": [],
        "gemini": [
            ("#/properties/slug", "keyword_dropped", "pattern", True),
            ("#/properties/code", "keyword_dropped", "minLength", True),
            ("#/properties/code", "keyword_dropped", "maxLength", True),
            ("#/properties/page", "type_rewritten", "exclusiveMaximum", False),
            ("#/properties/ratio", "keyword_dropped", "exclusiveMinimum", True),
        ],
        "gemini-openapi": [
            ("#/properties/day", "keyword_dropped", "format", False),
            ("#/properties/page", "type_rewritten", "exclusiveMaximum", False),
            ("#/properties/ratio", "keyword_dropped", "exclusiveMinimum", True),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [
            ("#/properties/page", "type_rewritten", "minimum", False),
            ("#/properties/ratio", "keyword_dropped", "maximum", True),
            ("#/properties/ratio", "keyword_dropped", "exclusiveMinimum", True),
        ],
    },
    "integer_bounds": {
        "openai-strict": [],
        "openai": [],
        "gemini": [
            ("#/properties/n", "type_rewritten", "exclusiveMinimum", False),
        ],
        "gemini-openapi": [
            ("#/properties/n", "type_rewritten", "exclusiveMinimum", False),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [
            ("#/properties/n", "type_rewritten", "minimum", False),
        ],
    },
    "all_of": {
        "openai-strict": [
            ("#/properties/item", "all_of_merged", "allOf", False),
            ("#/properties/item", "additional_properties_closed", "additionalProperties", True),
            ("#/properties/owner/allOf/0", "ref_inlined", "$ref", False),
            ("#/properties/owner", "all_of_merged", "allOf", False),
        ],
        "openai": [],
        "gemini": [
            ("#/properties/item", "all_of_merged", "allOf", False),
            ("#/properties/owner/allOf/0", "ref_inlined", "$ref", False),
            ("#/properties/owner", "all_of_merged", "allOf", False),
        ],
        "gemini-openapi": [
            ("#/properties/item", "all_of_merged", "allOf", False),
            ("#/properties/owner/allOf/0", "ref_inlined", "$ref", False),
            ("#/properties/owner", "all_of_merged", "allOf", False),
            ("#/properties/owner", "keyword_dropped", "additionalProperties", True),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [
            ("#/properties/owner/allOf/0", "ref_inlined", "$ref", False),
        ],
        "llamacpp": [
            ("#/properties/item", "all_of_merged", "allOf", False),
            ("#/properties/item", "additional_properties_explicit", "additionalProperties", False),
            ("#/properties/owner/allOf/0", "ref_inlined", "$ref", False),
            ("#/properties/owner", "all_of_merged", "allOf", False),
        ],
    },
    "annotations": {
        "openai-strict": [
            ("#", "keyword_dropped", "$schema", False),
            ("#", "keyword_dropped", "$comment", False),
            ("#/properties/city", "keyword_dropped", "examples", False),
            ("#/properties/city", "keyword_dropped", "deprecated", False),
            ("#/properties/city", "keyword_dropped", "x-ui", False),
            ("#/properties/id", "keyword_dropped", "readOnly", False),
        ],
        "openai": [],
        "gemini": [
            ("#", "keyword_dropped", "$schema", False),
            ("#", "keyword_dropped", "$comment", False),
            ("#/properties/city", "keyword_dropped", "examples", False),
            ("#/properties/city", "keyword_dropped", "deprecated", False),
            ("#/properties/city", "keyword_dropped", "x-ui", False),
            ("#/properties/id", "keyword_dropped", "readOnly", False),
        ],
        "gemini-openapi": [
            ("#", "keyword_dropped", "$schema", False),
            ("#", "keyword_dropped", "$comment", False),
            ("#/properties/city", "keyword_dropped", "examples", False),
            ("#/properties/city", "keyword_dropped", "deprecated", False),
            ("#/properties/city", "keyword_dropped", "x-ui", False),
            ("#/properties/id", "keyword_dropped", "readOnly", False),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [],
        "llamacpp": [],
    },
    "draft07_definitions": {
        "openai-strict": [
            ("#", "keyword_dropped", "$schema", False),
            ("#/definitions/Color", "defs_moved", "$defs", False),
            ("#/properties/color", "ref_rewritten", "$ref", False),
        ],
        "openai": [],
        "gemini": [
            ("#", "keyword_dropped", "$schema", False),
            ("#/definitions/Color", "defs_moved", "$defs", False),
            ("#/properties/color", "ref_rewritten", "$ref", False),
        ],
        "gemini-openapi": [
            ("#", "keyword_dropped", "$schema", False),
            ("#/properties/color", "ref_inlined", "$ref", False),
            ("#", "keyword_dropped", "additionalProperties", True),
        ],
        "ollama": [
            ("#/properties/color", "ref_inlined", "$ref", False),
        ],
        "llamacpp": [
            ("#/properties/color", "ref_inlined", "$ref", False),
        ],
    },
    "openapi_lowering": {
        "openai-strict": [
            ("#/properties/mode", "type_rewritten", "type", False),
            ("#/properties/count", "type_rewritten", "type", False),
            ("#/properties/key", "keyword_dropped", "minLength", True),
            ("#/properties/key", "made_required", "required", False),
            ("#/properties/note", "made_required", "required", False),
            ("#", "additional_properties_closed", "additionalProperties", True),
        ],
        "openai": [],
        "gemini": [
            ("#/properties/mode", "enum_rewritten", "enum", False),
            ("#/properties/count", "const_to_enum", "const", False),
            ("#/properties/key", "keyword_dropped", "minLength", True),
            ("#/properties/note", "keyword_dropped", "default", False),
        ],
        "gemini-openapi": [
            ("#/properties/level", "enum_rewritten", "enum", False),
            ("#/properties/mode", "enum_rewritten", "enum", False),
            ("#/properties/mode", "type_rewritten", "anyOf", False),
            ("#/properties/count", "const_to_enum", "const", False),
            ("#/properties/key", "type_rewritten", "type", False),
            ("#/properties/note", "type_rewritten", "anyOf", False),
        ],
        "ollama": [],
        "llamacpp": [
            ("#", "additional_properties_explicit", "additionalProperties", False),
        ],
    },
}


CELLS = [(case, target) for case in CASES for target in TARGETS]
NON_LOSSY = [
    (case, target)
    for case, target in CELLS
    if not any(change[3] for change in EXPECTED[case][target])
]

# Exact compiled schemas for the cells that show each target's main moves.
LITERALS: dict[tuple[str, str], dict[str, Any]] = {
    # The recorded strict request (title/default kept), with the optional unit nullable.
    ("optional_default", "openai-strict"): {
        "type": "object",
        "properties": {
            "location": {"type": "string", "title": "Location"},
            "unit": {
                "type": ["string", "null"],
                "enum": ["celsius", "fahrenheit", None],
                "default": "fahrenheit",
                "title": "Unit",
            },
        },
        "required": ["location", "unit"],
        "additionalProperties": False,
    },
    # Gemini: no keyword beside $ref, so the described ref is wrapped in anyOf.
    ("pydantic_defs", "gemini"): {
        "type": "object",
        "title": "create_contactArguments",
        "properties": {
            "name": {"type": "string", "title": "Name"},
            "home": {"description": "Where they live", "anyOf": [{"$ref": "#/$defs/Address"}]},
            "work": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}]},
        },
        "required": ["name", "home"],
        "additionalProperties": False,
        "$defs": {
            "Address": {
                "type": "object",
                "title": "Address",
                "properties": {
                    "street": {"type": "string", "title": "Street"},
                    "zip": {"type": "string", "title": "Zip"},
                },
                "required": ["street", "zip"],
                "additionalProperties": False,
            }
        },
    },
    # Strict keeps recursion through $defs.
    ("recursive_tree", "openai-strict"): {
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/Node"}},
        "required": ["tree"],
        "additionalProperties": False,
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "children": {"type": ["array", "null"], "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["label", "children"],
                "additionalProperties": False,
            }
        },
    },
    # OpenAPI: numbers pinned, nulls as nullable, a type list split by type.
    ("openapi_lowering", "gemini-openapi"): {
        "type": "object",
        "properties": {
            "level": {
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": 1},
                    {"type": "integer", "minimum": 2, "maximum": 2},
                    {"type": "integer", "minimum": 5, "maximum": 5},
                ]
            },
            "mode": {"type": "string", "enum": ["fast", "slow"], "nullable": True},
            "count": {"type": "integer", "minimum": 3, "maximum": 3},
            "key": {
                "anyOf": [
                    {"type": "string", "minLength": 2, "nullable": True},
                    {"type": "integer", "nullable": True},
                ]
            },
            "note": {"type": "string", "nullable": True, "default": None},
        },
        "required": ["level", "mode", "count"],
    },
    # llama.cpp reads prefixItems as the fixed-length tuple it already was.
    ("prefix_items", "llamacpp"): {
        "type": "object",
        "properties": {
            "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}]}
        },
        "required": ["point"],
        "additionalProperties": False,
    },
    # Disjoint oneOf becomes anyOf; const becomes a one-value enum.
    ("oneof_tagged", "gemini"): {
        "type": "object",
        "properties": {
            "shape": {
                "anyOf": [
                    {
                        "type": "object",
                        "properties": {
                            "kind": {"enum": ["circle"]},
                            "radius": {"type": "number"},
                        },
                        "required": ["kind", "radius"],
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "properties": {"kind": {"enum": ["square"]}, "side": {"type": "number"}},
                        "required": ["kind", "side"],
                        "additionalProperties": False,
                    },
                ]
            }
        },
        "required": ["shape"],
        "additionalProperties": False,
    },
    # A no-argument MCP tool, as OpenAI wants it.
    ("no_args_empty", "openai"): {"type": "object", "properties": {}},
    ("draft07_definitions", "openai-strict"): {
        "type": "object",
        "properties": {"color": {"$ref": "#/$defs/Color"}},
        "required": ["color"],
        "additionalProperties": False,
        "$defs": {"Color": {"type": "string", "enum": ["red", "green"]}},
    },
    # allOf merged; the open object says so explicitly for llama.cpp.
    ("all_of", "llamacpp"): {
        "type": "object",
        "properties": {
            "item": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
                "required": ["id", "qty"],
                "additionalProperties": True,
            },
            "owner": {
                "description": "Who owns it",
                "type": "object",
                "properties": {"login": {"type": "string"}},
                "required": ["login"],
                "additionalProperties": False,
            },
        },
        "required": ["item", "owner"],
        "additionalProperties": False,
    },
}


# -- reading a compiled schema in its own dialect -----------------------------------------------


def _from_openapi(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable: true`` also accepts null."""
    if isinstance(node, list):
        return [_from_openapi(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _from_openapi(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = _from_openapi(value)
        elif key != "nullable":
            out[key] = value
    return {"anyOf": [out, {"type": "null"}]} if node.get("nullable") else out


def _from_llamacpp(node: Any) -> Any:
    """What llama.cpp's grammar converter accepts, as JSON Schema."""
    if isinstance(node, list):
        return [_from_llamacpp(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs"):
            out[key] = {name: _from_llamacpp(sub) for name, sub in value.items()}
        elif key in ("items", "anyOf", "prefixItems", "additionalProperties"):
            out[key] = _from_llamacpp(value)
        else:
            out[key] = value
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False  # "additionalProperties defaults to false"
    if "prefixItems" in node:
        out["items"] = False  # a tuple of exactly that length
        out["minItems"] = len(node["prefixItems"])
    return out


def _as_json_schema(compiled: CompiledSchema) -> Any:
    if compiled.target == "gemini-openapi":
        return _from_openapi(compiled.schema)
    if compiled.target == "llamacpp":
        return _from_llamacpp(compiled.schema)
    return compiled.schema


def _fill_nulls(value: Any, compiled: CompiledSchema) -> tuple[Any, bool]:
    """The inverse of ``strip_added_nulls``: left-out optional properties sent as null.

    Returns:
        The filled value, and whether ``value`` already held a null where strict
        mode's null means "left out" (such a value has no compiled twin).
    """
    added = set(compiled.added_nulls)
    root = compiled.schema
    clash = False

    def deref(node: Any, pointer: str) -> tuple[Any, str]:
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"]
            node = root
            for token in pointer.split("/")[1:]:
                node = node[token]
        return node, pointer

    def fits(value: Any, node: Any, pointer: str, depth: int = 0) -> bool:
        if depth > 20 or not isinstance(node, dict):
            return node is not False
        branches = node.get("anyOf")
        if isinstance(branches, list) and not any(
            fits(value, *deref(b, child(pointer, "anyOf", i)), depth + 1)
            for i, b in enumerate(branches)
        ):
            return False
        types = declared_types(node)
        if types is not None and not types_overlap({json_type(value)}, types):
            return False
        choices = [node["const"]] if "const" in node else node.get("enum")
        if isinstance(choices, list) and not any(json_equal(value, c) for c in choices):
            return False
        props = node.get("properties")
        if isinstance(value, dict) and isinstance(props, dict):
            if not value.keys() <= props.keys():
                return False
            if any(
                r not in value and child(pointer, "properties", r) not in added
                for r in node.get("required", [])
            ):
                return False
            return all(
                fits(v, *deref(props[k], child(pointer, "properties", k)), depth + 1)
                for k, v in value.items()
            )
        items = node.get("items")
        if isinstance(value, list) and isinstance(items, dict):
            return all(fits(v, *deref(items, child(pointer, "items")), depth + 1) for v in value)
        return True

    def fill(value: Any, node: Any, pointer: str) -> Any:
        nonlocal clash
        node, pointer = deref(node, pointer)
        if not isinstance(node, dict):
            return value
        if isinstance(node.get("anyOf"), list):
            for i, branch in enumerate(node["anyOf"]):
                where = child(pointer, "anyOf", i)
                if fits(value, *deref(branch, where)):
                    return fill(value, branch, where)
            return value
        props = node.get("properties")
        if isinstance(value, dict) and isinstance(props, dict):
            out = {k: v for k, v in value.items() if k not in props}
            for name, sub in props.items():
                where = child(pointer, "properties", name)
                if name in value:
                    clash = clash or (value[name] is None and where in added)
                    out[name] = fill(value[name], sub, where)
                elif where in added:
                    out[name] = None
            return out
        if isinstance(value, list) and isinstance(node.get("items"), dict):
            return [fill(v, node["items"], child(pointer, "items")) for v in value]
        return value

    return fill(value, root, "#"), clash


def _resolves(schema: dict[str, Any], pointer: str) -> bool:
    node: Any = schema
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


# -- the table, cell by cell -------------------------------------------------------------------


def test_the_table_is_meaningful() -> None:
    assert len(CASES) >= 25
    assert EXPECTED.keys() == CASES.keys()
    for case, (schema, samples) in CASES.items():
        Draft202012Validator.check_schema(schema)
        validity = {Draft202012Validator(schema).is_valid(s) for s in samples}
        # A no-argument tool accepts every object: nothing there can be invalid.
        wanted = {True} if case.startswith("no_args") else {True, False}
        assert validity == wanted, f"{case}: needs valid and invalid samples"
        assert EXPECTED[case].keys() == set(TARGETS)


@pytest.mark.parametrize(("case", "target"), CELLS)
def test_changes_are_exactly_the_expected_ones(case: str, target: str) -> None:
    schema = CASES[case][0]
    before = copy.deepcopy(schema)
    compiled = compile_schema(schema, target, allow_lossy=True)  # type: ignore[arg-type]
    got = [(c.path, c.kind, c.keyword, c.lossy) for c in compiled.changes]
    assert got == EXPECTED[case][target]
    assert schema == before, "the input schema was changed"
    again = compile_schema(copy.deepcopy(schema), target, allow_lossy=True)  # type: ignore[arg-type]
    assert json.dumps(again.schema) == json.dumps(compiled.schema)  # key order too
    assert compiled.target == target
    assert compiled.strict == (target == "openai-strict")
    for change in compiled.changes:
        assert change.detail
        if change.kind not in ("all_of_merged",):
            assert _resolves(schema, change.path), change


@pytest.mark.parametrize(("case", "target"), CELLS)
def test_lossy_changes_raise_unless_allowed(case: str, target: str) -> None:
    schema = CASES[case][0]
    lossy = [c for c in EXPECTED[case][target] if c[3]]
    if not lossy:
        compile_schema(schema, target, name="my_tool")  # type: ignore[arg-type]
        return
    with pytest.raises(SchemaCompileError) as caught:
        compile_schema(schema, target, name="my_tool")  # type: ignore[arg-type]
    error = caught.value
    assert error.tool == "my_tool"
    assert error.target == target
    assert "my_tool" in str(error)
    assert [(c.path, c.kind, c.keyword, c.lossy) for c in error.changes if c.lossy] == lossy


def _assert_same_values(
    schema: dict[str, Any], compiled: CompiledSchema, samples: list[Any]
) -> None:
    """Every sample is accepted or rejected alike by ``schema`` and by ``compiled``."""
    original = Draft202012Validator(schema)
    sent = Draft202012Validator(_as_json_schema(compiled))
    for sample in samples:
        if compiled.target != "openai-strict":
            assert sent.is_valid(sample) == original.is_valid(sample), sample
            continue
        filled, clash = _fill_nulls(sample, compiled)
        if clash:
            # A null where strict mode's null means "left out": no compiled twin,
            # but whatever the compiled schema accepts must strip to a valid value.
            assert not sent.is_valid(filled) or original.is_valid(
                strip_added_nulls(filled, compiled)
            ), sample
            continue
        assert strip_added_nulls(filled, compiled) == sample
        assert sent.is_valid(filled) == original.is_valid(sample), (sample, filled)


@pytest.mark.parametrize(("case", "target"), NON_LOSSY)
def test_non_lossy_cells_accept_exactly_the_same_values(case: str, target: str) -> None:
    schema, samples = CASES[case]
    _assert_same_values(schema, compile_schema(schema, target), samples)  # type: ignore[arg-type]


@pytest.mark.parametrize(("case", "target"), sorted(LITERALS))
def test_important_cells_compile_to_exactly_this(case: str, target: str) -> None:
    compiled = compile_schema(CASES[case][0], target, allow_lossy=True)  # type: ignore[arg-type]
    assert compiled.schema == LITERALS[(case, target)]


@pytest.mark.parametrize(
    ("case", "target"), [(c, t) for c, t in CELLS if t not in ("gemini-openapi",)]
)
def test_json_schema_dialects_stay_valid_json_schema(case: str, target: str) -> None:
    compiled = compile_schema(CASES[case][0], target, allow_lossy=True)  # type: ignore[arg-type]
    Draft202012Validator.check_schema(compiled.schema)


# -- random schemas ----------------------------------------------------------------------------
# The table holds the shapes we know; these seeded random schemas hold the
# shapes nobody thought of (contradictions, unions of unions, recursion with
# siblings). Every non-lossy compilation must keep exactly the same values.


def _random_schema(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 2 or roll < 0.4:
        kind = rng.choice(["string", "integer", "number", "boolean", "null"])
        node: dict[str, Any] = {"type": kind}
        extras = {
            "string": [("minLength", 1), ("pattern", "^[xy]+$"), ("format", "date")],
            "integer": [("minimum", 1), ("exclusiveMaximum", 5), ("enum", [1, 2, None])],
            "number": [("exclusiveMinimum", 0), ("maximum", 2.5), ("enum", [1, 2.5])],
        }.get(kind, [])
        for key, value in extras:
            if rng.random() < 0.25:
                node[key] = value
        if rng.random() < 0.15:
            node = {"const": rng.choice(["x", 1, True, None]), **rng.choice([{}, {"type": kind}])}
        if rng.random() < 0.1:
            node = {"enum": rng.sample(["x", "y", 1, 2, None, True], 3)}
        if rng.random() < 0.15 and kind != "null" and "type" in node:
            node["type"] = [kind, "null"]
        return node
    if roll < 0.7:
        names = rng.sample(["a", "b", "c"], rng.randint(0, 3))
        node = {"type": "object", "properties": {n: _random_schema(rng, depth + 1) for n in names}}
        node["required"] = rng.sample(names, rng.randint(0, len(names)))
        node["additionalProperties"] = rng.choice(
            [False, False, False, False, True, None, _random_schema(rng, 3)]
        )
        return {k: v for k, v in node.items() if v is not None}
    if roll < 0.8:
        if rng.random() < 0.2:
            items = [_random_schema(rng, depth + 1) for _ in range(2)]
            return {"type": "array", "prefixItems": items, "items": rng.choice([False, True])}
        return {"type": "array", "items": _random_schema(rng, depth + 1), "maxItems": 2}
    keyword = rng.choice(["anyOf", "anyOf", "oneOf", "allOf"])
    if rng.random() < 0.25:
        return {"$ref": "#/$defs/D", **rng.choice([{}, {"description": "d"}])}
    return {keyword: [_random_schema(rng, depth + 1) for _ in range(2)]}


def _random_root(rng: random.Random) -> dict[str, Any]:
    schema = _random_schema(rng, 0)
    while schema.get("type") != "object":
        schema = _random_schema(rng, 0)
    recursive = {
        "type": "object",
        "properties": {
            "v": _random_schema(rng, 3),
            "next": {"anyOf": [{"$ref": "#/$defs/D"}, {"type": "null"}]},
        },
        "required": rng.choice([["v"], [], ["v", "next"]]),
        "additionalProperties": False,
    }
    schema["$defs"] = {"D": rng.choice([recursive, _random_schema(rng, 3)])}
    return schema


def _random_instance(rng: random.Random, node: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """A value shaped by ``node``; often valid, sometimes not."""
    if not isinstance(node, dict) or depth > 6 or rng.random() < 0.05:
        return rng.choice(["x", "xy", "", 0, 1, 2, 2.5, 5, -1, True, False, None, {}, []])
    if "$ref" in node:
        return _random_instance(rng, root["$defs"]["D"], root, depth + 1)
    for keyword in ("anyOf", "oneOf", "allOf"):
        if keyword in node:
            return _random_instance(rng, rng.choice(node[keyword]), root, depth + 1)
    if "const" in node:
        return node["const"]
    if "enum" in node:
        return rng.choice(node["enum"])
    kind = node.get("type")
    kind = rng.choice(kind) if isinstance(kind, list) else kind
    if kind == "object":
        props = node.get("properties", {})
        out = {
            name: _random_instance(rng, sub, root, depth + 1)
            for name, sub in props.items()
            if name in node.get("required", []) or rng.random() < 0.5
        }
        if rng.random() < 0.1:
            out["z"] = 1
        return out
    if kind == "array":
        if "prefixItems" in node:
            items = [_random_instance(rng, s, root, depth + 1) for s in node["prefixItems"]]
            return items[: rng.randint(1, 3)]
        return [
            _random_instance(rng, node["items"], root, depth + 1) for _ in range(rng.randint(0, 3))
        ]
    return {
        "string": lambda: rng.choice(["x", "xy", "", "2026-01-02"]),
        "integer": lambda: rng.randint(-1, 6),
        "number": lambda: rng.choice([0, 0.5, 2.5, 3]),
        "boolean": lambda: rng.random() < 0.5,
        "null": lambda: None,
    }.get(kind or "", lambda: "x")()


@pytest.mark.parametrize("seed", range(60))
def test_random_schemas_keep_their_values_when_not_lossy(seed: int) -> None:
    rng = random.Random(seed)
    schema = _random_root(rng)
    samples = [_random_instance(rng, schema, schema) for _ in range(30)]
    before = copy.deepcopy(schema)
    for target in TARGETS:
        try:
            compiled = compile_schema(schema, target)
        except SchemaCompileError:
            continue
        assert schema == before
        _assert_same_values(schema, compiled, samples)


# -- references --------------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "ref", ["https://example.com/address.json", "other.json#/$defs/A", "#/$defs/Missing"]
)
def test_remote_and_dangling_refs_are_refused(target: str, ref: str) -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": ref}}}
    with pytest.raises(SchemaCompileError) as caught:
        compile_schema(schema, target, allow_lossy=True, name="lookup")  # type: ignore[arg-type]
    assert caught.value.changes[-1].kind == "unsupported"
    assert caught.value.changes[-1].path == "#/properties/a"


def test_anchor_and_id_relative_refs_resolve() -> None:
    schema = {
        "$id": "https://example.com/tool.json",
        "type": "object",
        "properties": {
            "a": {"$ref": "#zip"},
            "b": {"$ref": "https://example.com/tool.json#/$defs/Zip"},
        },
        "$defs": {"Zip": {"$anchor": "zip", "type": "string", "pattern": "^[0-9]{5}$"}},
    }
    compiled = compile_schema(schema, "llamacpp")
    zip_code = {"type": "string", "pattern": "^[0-9]{5}$"}
    assert compiled.schema["properties"] == {"a": zip_code, "b": zip_code}


def test_recursion_is_cut_for_openapi_only_when_allowed() -> None:
    schema = CASES["recursive_tree"][0]
    with pytest.raises(SchemaCompileError, match="recursive"):
        compile_schema(schema, "gemini-openapi")
    compiled = compile_schema(schema, "gemini-openapi", allow_lossy=True)
    depth, node = 0, compiled.schema["properties"]["tree"]
    while "properties" in node:
        depth, node = depth + 1, node["properties"]["children"]["items"]
    assert depth == 3
    assert node == {"type": "object"}


# -- OpenAI strict -----------------------------------------------------------------------------


def test_recorded_strict_schema_passes_unchanged() -> None:
    # A strict request that OpenAI accepted (title and default included).
    # Source: Mirascope/mirascope python/tests/e2e/input/cassettes/
    # test_call_with_strict_tool_and_optional_properties/openai_gpt_4o_completions.yaml
    case = Path(__file__).parent / "fixtures/real_traffic/openai_chat"
    request = json.loads(
        (case / "strict_tool_with_default_and_title_keywords/request.json").read_text()
    )
    function = request["tools"][0]["function"]
    compiled = compile_schema(function["parameters"], "openai-strict")
    assert compiled.changes == ()
    assert compiled.schema == function["parameters"]
    assert is_strict_compatible(function["parameters"])


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "object", "properties": {"x": {}}}, "'any value'"),
        ({"type": "object", "properties": {"x": {"type": "array"}}}, "'items'"),
        ({"anyOf": [{"type": "object"}, {"type": "object"}]}, "anyOf at the root"),
        ({"type": "array", "items": {"type": "string"}}, "object at the root"),
    ],
)
def test_strict_refuses_what_it_cannot_write(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(SchemaCompileError, match=message):
        compile_schema(schema, "openai-strict", allow_lossy=True)


def test_compile_for_openai_prefers_strict_and_says_why_not() -> None:
    strict = compile_for_openai(CASES["pydantic_defs"][0])
    assert strict.target == "openai-strict"
    assert strict.strict

    loose = compile_for_openai(CASES["constraints"][0], name="search")
    assert loose.target == "openai"
    assert not loose.strict
    assert loose.changes[0].kind == "strict_disabled"
    assert "minLength" in loose.changes[0].detail
    assert loose.schema == CASES["constraints"][0]

    closed = compile_for_openai(CASES["simple"][0], allow_lossy=True)
    assert closed.strict
    assert closed.lossy


def test_is_strict_compatible() -> None:
    assert is_strict_compatible(CASES["optional_default"][0])  # nullable rewrite is not a loss
    assert not is_strict_compatible(CASES["simple"][0])  # open object
    assert not is_strict_compatible(CASES["constraints"][0])  # minLength


def test_strip_added_nulls_follows_unions_arrays_and_recursion() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ops": {
                "type": "array",
                "items": {
                    "oneOf": [
                        {
                            "type": "object",
                            "properties": {"op": {"const": "add"}, "value": {"type": "string"}},
                            "required": ["op"],
                            "additionalProperties": False,
                        },
                        {
                            "type": "object",
                            "properties": {"op": {"const": "remove"}, "force": {"type": "boolean"}},
                            "required": ["op"],
                            "additionalProperties": False,
                        },
                    ]
                },
            },
            "list": {"$ref": "#/$defs/Cell"},
        },
        "required": ["ops"],
        "additionalProperties": False,
        "$defs": {
            "Cell": {
                "type": "object",
                "properties": {"v": {"type": "integer"}, "next": {"$ref": "#/$defs/Cell"}},
                "required": ["v"],
                "additionalProperties": False,
            }
        },
    }
    compiled = compile_schema(schema, "openai-strict")
    sent = {
        "ops": [{"op": "add", "value": None}, {"op": "remove", "force": None}],
        "list": {"v": 1, "next": {"v": 2, "next": None}},
    }
    assert Draft202012Validator(compiled.schema).is_valid(sent)
    before = copy.deepcopy(sent)
    stripped = strip_added_nulls(sent, compiled)
    assert stripped == {
        "ops": [{"op": "add"}, {"op": "remove"}],
        "list": {"v": 1, "next": {"v": 2}},
    }
    assert Draft202012Validator(schema).is_valid(stripped)
    assert sent == before
    # A null the original schema requires is the tool's business, not ours.
    kept = {"a": None}
    nullable = {
        "type": "object",
        "properties": {"a": {"type": ["string", "null"]}},
        "required": ["a"],
    }
    compiled = compile_schema(nullable, "openai-strict", allow_lossy=True)
    assert strip_added_nulls(kept, compiled) == kept


# -- llama.cpp's reading of a schema -------------------------------------------------------------


def test_llamacpp_spells_out_what_its_converter_would_read_differently() -> None:
    schema = {
        "type": "object",
        "properties": {
            "slug": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8},
            "loose": {"type": "string", "pattern": "[a-z]+"},
            "group": {"type": "string", "pattern": "^(?:a|b)$"},
            "shape": {
                "type": "object",
                "properties": {"kind": {"type": "string"}},
                "required": ["kind"],
                "additionalProperties": False,
                "anyOf": [
                    {"properties": {"kind": {"const": "a"}}},
                    {"properties": {"kind": {"const": "b"}}},
                ],
            },
        },
        "required": ["slug"],
        "additionalProperties": False,
    }
    compiled = compile_schema(schema, "llamacpp", allow_lossy=True)
    props = compiled.schema["properties"]
    assert props["slug"] == {"type": "string", "pattern": "^[a-z]+$"}
    assert props["loose"] == {"type": "string"}
    assert props["group"] == {"type": "string"}
    assert props["shape"] == {
        "anyOf": [
            {
                "type": "object",
                "properties": {"kind": {"type": "string", "const": kind}},
                "required": ["kind"],
                "additionalProperties": False,
            }
            for kind in ("a", "b")
        ]
    }
    kinds = {(c.path, c.kind, c.keyword, c.lossy) for c in compiled.changes}
    assert ("#/properties/slug", "keyword_dropped", "maxLength", True) in kinds
    assert ("#/properties/loose", "keyword_dropped", "pattern", True) in kinds
    assert ("#/properties/group", "keyword_dropped", "pattern", True) in kinds
    assert ("#/properties/shape", "any_of_distributed", "anyOf", False) in kinds


# -- the public surface ------------------------------------------------------------------------


def test_changes_become_schema_changed_warnings() -> None:
    compiled = compile_schema(CASES["simple"][0], "openai-strict", allow_lossy=True)
    warnings = changes_to_warnings(compiled, tool="search", provider="openai")
    assert len(warnings) == len(compiled.changes)
    assert {w.kind for w in warnings} == {"schema_changed"}
    assert {w.provider for w in warnings} == {"openai"}
    closed = warnings[-1]
    assert closed.feature == "additionalProperties"
    assert "search" in closed.message
    assert "changes which values are accepted" in closed.message


def test_bad_input_is_a_user_error() -> None:
    from agentkit.exceptions import UserError

    with pytest.raises(UserError, match="unknown target"):
        compile_schema({}, "anthropic")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="JSON object"):
        compile_schema([], "openai")  # type: ignore[arg-type]


def test_importing_the_compiler_stays_light() -> None:
    code = (
        "import sys, agentkit._schema_compile\n"
        "heavy = {'jsonschema', 'pydantic'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
