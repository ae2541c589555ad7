"""The app package: load (bounded, migrated, validated), diff an upgrade, export.

``apps`` may import ``engines`` and ``schemas`` only; it opens no database
session. The runtime installer builds on these names.
"""
from .diff import FieldDiff, KeyDiff, PackageDiff, diff_packages
from .exceptions import PackageError
from .export import export_package
from .loader import Package, load_package
from .migrations import CURRENT_FORMAT_VERSION, migrate
from .validation import SYSTEM_COLUMNS, validate_package

__all__ = ["load_package", "validate_package", "PackageError", "Package", "diff_packages", "PackageDiff",
           "KeyDiff", "FieldDiff", "export_package", "migrate", "CURRENT_FORMAT_VERSION", "SYSTEM_COLUMNS"]
