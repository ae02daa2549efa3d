"""Routing and ordering: partitions, ownership, the wire format, batching, sequencing, moves."""
