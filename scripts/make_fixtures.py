"""Regenerates every golden fixture in tests/fixtures from PyTorch / torchvision.
Run with Debian's python3-torch: /usr/bin/python3 scripts/make_fixtures.py
(npm run fixtures). CI never runs this; it uses the committed files."""
import pathlib
import runpy
import sys

here = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(here))
for script in sorted((here / "fixtures").glob("*.py")):
    print(f"== {script.relative_to(here.parent)}", flush=True)
    runpy.run_path(str(script), run_name="__main__")
