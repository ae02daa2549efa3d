"""The Ray shells: `GuildHost`, `Gateway`, `Directory` and the `Runtime` driver.

The only modules of guildmind that import `ray`; each is a thin shell over a plain class.
"""
