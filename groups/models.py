"""Areas (force > district > ward > custom) and community groups: built in the geography issue."""
