"""Where events come from: Discord (and the loopback emulator through it), synthetic traffic."""
