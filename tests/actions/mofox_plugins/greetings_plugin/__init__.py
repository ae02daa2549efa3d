from actions.mofox.base.plugin_metadata import PluginMetadata

__plugin_meta__ = PluginMetadata(
    name="Greetings",
    description="Greets people, waves and sends a sticker.",
    usage="say hello",
    version="1.0.0",
    author="tests",
)
