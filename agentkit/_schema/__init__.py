"""Internals of the schema compiler; the public face is ``agentkit._schema_compile``.

``_vocab``     JSON Schema 2020-12 keyword facts (assertion or annotation, no-op values)
``_types``     targets, changes, results and the error
``_shape``     the keyword value shapes the targets rely on, checked first
``_refs``      local ``$ref`` resolution and recursion detection
``_algebra``   merging schemas (``allOf``) and proving ``oneOf`` branches disjoint
``_walker``    the walk every target shares
``_openai``    ``openai-strict`` and ``openai``
``_gemini``    ``gemini`` and ``gemini-openapi``
``_local``     ``ollama`` and ``llamacpp``
``_nulls``     undoing the nulls strict mode adds
"""
