"""Importers: a simulation drafted from what a team already has, an OpenAPI document
(`openapi.py`, its example values from `examples.py`) or a browser's HAR recording (`har.py`,
its correlations from `correlate.py`), each a JSON-ready simulation and the list of what was
guessed and where (`drafts.py`). The application layer validates the draft as the compiler would
and writes it.

May import: `sources` (the loaders, the credential rules, the JSON path subset), `resolve`
(nothing yet) and `problems`.
"""
