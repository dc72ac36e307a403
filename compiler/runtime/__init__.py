"""The runtime of every generated locustfile, as real Python split by concern.

compiler/output/render.py inlines prelude.py, the target's configuration block (templates/target.py.j2)
and then each part, in RUNTIME_PARTS order, taking each file from its marker line on. Above the
marker, each part imports the names the generated file defines before it, so that linters,
editors and tests can read it; configuration.py stands for a target's configuration block.
"""
