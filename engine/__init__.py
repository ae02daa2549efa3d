"""guildmind's decision engine: pure, no I/O."""
