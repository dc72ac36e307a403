"""Importers: a simulation drafted from what a team already has, an OpenAPI document
(`openapi.py`, its `$ref`s checked by `refs.py`, its example values from `examples.py`) or a browser's HAR recording (`har.py`,
its correlations from `correlate.py`; text bodies' credentials, both importers', from `bodies.py`), each a JSON-ready simulation and the list of what was
guessed and where (`drafts.py`); `command.py` validates the draft as `validate` would, in a
private folder, and `writing.py` writes it and the catalog entry. The application layer's
`import_source` calls `command.py`.

May import: `sources` (the loaders, the credential rules), `resolve` (to resolve the draft's
targets) and `problems`.
"""
