"""guildmind package."""
