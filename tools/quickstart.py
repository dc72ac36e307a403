"""The README's Quickstart edits, made by a program: `python tools/quickstart.py apply [FOLDER]`.

Adds country `pe` to the catalog (listed for app `app`) and the endpoint `product` with its
variable `sku` to `simulations/app.json`, exactly as the README's steps 1 and 2 write them, in
FOLDER/data (default: the repository). CI applies them before `make test`, so the suite runs on a
user's edited data/ and shows that it tests the product, not the sample; tests replay the
Quickstart with the same edits (tests/test_target_service.py checks the README still shows them).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# As the README writes them (steps 1 and 2).
PE_COUNTRY = '"pe": {"vars": {"locale": "es-PE", "currency": "PEN"}}'
PRODUCT_ENDPOINT = '{"name": "product", "path": "/product/${sku}", "weight": 2}'
SKU_VARS = '"vars": {"sku": "A1"}'


def apply(data: Path) -> None:
    """Make the Quickstart's edits in `data` (a folder holding catalog.json and simulations/)."""
    catalog_path = data / "catalog.json"
    catalog = json.loads(catalog_path.read_text(encoding="utf-8"))
    catalog["countries"].update(json.loads("{" + PE_COUNTRY + "}"))
    if "pe" not in catalog["apps"]["app"]["countries"]:
        catalog["apps"]["app"]["countries"].append("pe")
    catalog_path.write_text(json.dumps(catalog, indent=2) + "\n", encoding="utf-8")
    simulation_path = data / "simulations" / "app.json"
    simulation = json.loads(simulation_path.read_text(encoding="utf-8"))
    product = json.loads(PRODUCT_ENDPOINT)
    simulation["endpoints"] = [e for e in simulation["endpoints"] if e.get("name") != "product"] + [product]
    simulation.setdefault("vars", {}).update(json.loads("{" + SKU_VARS + "}")["vars"])
    simulation_path.write_text(json.dumps(simulation, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "apply" or len(argv) > 2:
        print("usage: python tools/quickstart.py apply [FOLDER]", file=sys.stderr)
        return 2
    folder = Path(argv[1]) if len(argv) == 2 else Path(__file__).resolve().parent.parent
    apply(folder / "data")
    print(f"{folder / 'data'}: the Quickstart's edits made (country pe, endpoint product); run `make compile`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
