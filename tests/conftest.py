"""Shared pytest configuration: fixtures for the local Dataverse live in tests/fixtures."""

pytest_plugins = ["tests.fixtures.dataverse"]
