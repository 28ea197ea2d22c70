"""Tests of the backup2mqtt custom integration (run: bash ha-integration/tests/run.sh)."""
