#!/usr/bin/env bash
# The Java runtime that Spark needs, for the Spark ML notebook and tests/test_local_spark.py:
# Debian's OpenJDK 17, which runs Spark 3.5 (15.4, 16.4 LTS ML) and 4.x (17.3, 18 LTS ML) alike.
set -euo pipefail

if ! command -v java >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q openjdk-17-jre-headless
fi
java -version 2>&1 | head -n 1
