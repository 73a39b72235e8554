"""Use cases: the rules of hookline applied to the store, one module per resource."""
