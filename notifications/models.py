"""The dispatch outbox (Dispatch, Delivery) and channel backends: built in the alerts issue."""
