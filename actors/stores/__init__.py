"""The state store implementations; import them through `actors.stores.base`."""
