"""Sources: reading and checking what the user wrote, before any target is resolved.

load.py reads strict JSON (duplicate keys, depth, sizes, lone surrogates refused) into Documents;
schema.py checks them against the JSON Schemas (compiler/schemas/) with messages a person reads;
validate.py loads the catalog and its simulations and checks what crosses files (targets.py:
which app/environment/country targets are compatible; journeys.py: what one layer's steps must
be; credentials.py: literal secrets; feeds.py: CSV and JSON data files); verbatim.py says which
text clients or the file system would change; jsonpath.py parses the JSONPath subset; drafts.py
lays out drafts given as text (the MCP server's validate) in a private folder.

May import: compiler.problems, compiler.timespan and this folder. Never resolve, output, runs,
the faces or the runtime.
"""
