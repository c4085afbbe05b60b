"""Alerts, appeals, news and events, with private reply threads: built in the alerts issue."""
