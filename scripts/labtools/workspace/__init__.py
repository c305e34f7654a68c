"""The workspace side: deploying, running and removing the lab through the Databricks SDK, and the
bundle's offline checks."""
