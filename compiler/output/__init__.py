"""Output: typed Targets -> generated files on disk.

render.py fills templates/target.py.j2 with one Target (every value through py_literal, the one
escaping function) and joins the runtime's parts; layout.py lays the configuration block out as
black does; build.py resolves and renders on every core; write.py writes atomically, tidies
leftovers and judges `--check`; changes.py says what changed in a file's configuration;
manifest.py is the fast path that skips unchanged targets; verified.py tells whether a file
still holds the bytes written there (by their digest, or by the file's status).

May import: compiler.problems, compiler.timespan, compiler.sources, compiler.resolve and this
folder. Never runs or the faces; the runtime only as text (it is read, not imported).
"""
