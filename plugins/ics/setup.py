"""Sibling plugins this one builds on come from this checkout until installed (plugins/sibling_requirements.py)."""

import sys
from pathlib import Path

from setuptools import setup

here = Path(__file__).resolve().parent
if (here.parent / "sibling_requirements.py").exists():
    sys.path.insert(0, str(here.parent))
    from sibling_requirements import install_requires

    setup(install_requires=install_requires(here))
else:  # built from an sdist: the bare names of setup.cfg, as an index serves them
    setup()
