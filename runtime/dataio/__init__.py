"""Records in and out of spreadsheets: import from XLSX/CSV, export a list view, the import template.

* ``readers`` — a file's header and rows, streamed (openpyxl ``read_only``, the csv module), with a
  resumable position so an import job can continue where its last chunk ended;
* ``mapping`` — which column fills which field (matched by label or key), and the cell → raw value
  conversion: options by label (the form engine), links by a chosen key field of the linked form,
  users by user name or display name;
* ``importer`` — preview (first rows with every error per cell) and the import itself, chunk by
  chunk through ``Records.write_batch`` (the one write path: validation, audit, rules, flows);
* ``jobs`` — the import as a job of the worker, its state in ``jimu_imports``, the rejected rows in
  ``jimu_import_rejects`` (downloaded with an error column);
* ``export`` — a list view's records (its filters, sort, columns, as labels) as XLSX or CSV,
  streamed, through the same permission policy as the list.
"""
