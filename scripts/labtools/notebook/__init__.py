"""The notebook formats: Databricks source files, `.dbc` archives, and the widgets a notebook declares."""
