"""Runs: generated files run with Locust into run folders, and their records read back.

launch.py runs targets one after another (`run`), each into `<results>/<target>/<UTC time>/`,
with progress and a summary table; records.py finds run folders and reads their records;
compare.py compares two runs; index_page.py writes the results folder's index.html, the
dashboard (dashboard_data.py gathers, dashboard_page.py lays out, with dashboard.js, dashboard.css
and the vendored charting library in vendor/).

May import: compiler.problems, compiler.timespan, compiler.sources, compiler.resolve (the
model) and this folder. Never output or the faces: `run` compiles through the application layer.
"""
