"""Private reply threads between a resident and the organisation that messaged them, and ratings."""
