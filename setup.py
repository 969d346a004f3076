"""Packaging glue; the metadata lives in pyproject.toml.

The repository keeps its top-level ``models/``, ``assets/`` and ``tools/`` folders; a built wheel carries them
inside the package (``livestyle/_bundled/models``, ``livestyle/_bundled/assets``, ``livestyle/_train/tools``) so
an installed livestyle needs no source tree and installs no generic top-level ``tools`` package.
``livestyle.resources`` finds them in either place. The package list is discovered, so a new subpackage is never
left out of the wheel; which data files go in is decided by the globs in pyproject.toml's package-data.
"""

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

BUNDLED = {
    "livestyle._bundled.models": "models",
    "livestyle._bundled.models.styles": "models/styles",
    "livestyle._bundled.assets": "assets",
    "livestyle._train.tools": "tools",
}


class BuildPy(build_py):
    """Copy the bundled folders afresh: setuptools reuses ``build/lib``, where a file deleted from ``models/``
    since the last in-tree build would otherwise go into the wheel again."""

    def run(self) -> None:
        for top in ("_bundled", "_train"):
            shutil.rmtree(Path(self.build_lib, "livestyle", top), ignore_errors=True)
        super().run()


setup(
    packages=find_packages(include=["livestyle", "livestyle.*"]) + list(BUNDLED),
    package_dir=BUNDLED,
    cmdclass={"build_py": BuildPy},
)
