"""Lead and campaign workflows, the pure dialogue policy, and the types that cross the boundary."""
