"""Running the lab's notebooks on this machine: conversion for a Jupyter kernel, the workspace
stand-ins, a real MLflow tracking server, execution, the runs table, and the
virtual environments of Databricks ML runtimes' library versions (`runtimes`)."""
