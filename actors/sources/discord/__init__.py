"""The `discord` and `emulator` sources: discord.py's client inside a gateway actor."""
