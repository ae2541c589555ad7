"""The app package: compile (the one pipeline), diff an upgrade, export.

``apps`` may import ``engines`` and ``schemas`` only; it opens no database
session. ``compile_package`` is the only answer to "is this package valid?";
the runtime installer, the CLI, the REST import and the builder all call it.
"""
from .compile import CompiledApp, Installed, OWNED_KINDS, Problems, compile_package, load_package, package_error
from .diff import FieldDiff, KeyDiff, PackageDiff, diff_packages
from .exceptions import PackageError
from .export import export_package
from .loader import Package
from .migrations import CURRENT_FORMAT_VERSION, migrate
from .validation import SYSTEM_COLUMNS

__all__ = ["compile_package", "CompiledApp", "Problems", "Installed", "OWNED_KINDS", "load_package", "package_error",
           "PackageError", "Package", "diff_packages", "PackageDiff", "KeyDiff", "FieldDiff", "export_package",
           "migrate", "CURRENT_FORMAT_VERSION", "SYSTEM_COLUMNS"]
