"""Surveys and quick polls: built in the surveys issue."""
