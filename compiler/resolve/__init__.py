"""Resolve: one template and its layers -> one typed Target per compatible target.

resolution.py holds one target's resolution under way; layers.py merges the template and its
overrides (each leaf with its origin); variables.py expands `${...}` after the merge;
target_checks.py judges the merged values (host, headers, limits, think time); journeys.py
types flows, steps, captures and checks and checks their references; target.py puts them
together into model.py's Target; catalog.py resolves every target of a catalog together (the
protected hosts every file carries); explain.py shows a Target's values with their origins.

May import: compiler.problems, compiler.timespan, compiler.sources and this folder. Never
output, runs, the faces or the runtime.
"""
