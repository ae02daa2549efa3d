"""The guild loop and what drives it without Ray: the host's core, its rounds, transcripts."""
