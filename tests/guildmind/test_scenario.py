"""`guildmind scenario`: the built-in story, told through the hosts' guild loop, says what the
seed's scenarios say (a concert chat joined, a new game engaged, a dead chat broken, a shy bot
joining only out of FOMO, someone calling on the bot answered)."""

from __future__ import annotations

from guildmind import cli, scenario


def by_guild() -> dict[str, list]:
    names = {g.id: g.name for g in scenario.GUILDS}
    spoken: dict[str, list] = {name: [] for name in names.values()}
    for d in scenario.run():
        spoken[names[d.guild_id]].append(d)
    return spoken


def test_each_guild_lives_its_scenario() -> None:
    spoken = by_guild()
    cafe = [d.action for d in spoken["miku-fan-cafe"]]
    assert cafe[0] == "join_conversation" and "reply" in cafe
    reply = next(d for d in spoken["miku-fan-cafe"] if d.action == "reply")
    assert reply.trigger == "addressed" and 1500 <= reply.at - scenario.T0 <= 1500 + 30
    game = spoken["rhythm-gamers"][0]
    assert (game.action, game.at - scenario.T0) == ("engage_user", 45 * 60)  # at once
    assert "Project DIVA Mega Mix" in game.reason
    library = spoken["quiet-library"]
    assert library[0].action == "break_silence" and library[0].at - scenario.T0 > 66 * 60
    study = [d.action for d in spoken["study-hall"] if d.at < scenario.T0 + 45 * 60]
    assert study and set(study) == {"fomo_response"}  # shy: never joins the busy chat by momentum


def test_the_story_keeps_the_gates() -> None:
    decisions = scenario.run()
    assert all(d.at - scenario.T0 >= 120 for d in decisions)
    last: dict[int, float] = {}
    for d in sorted(decisions, key=lambda d: d.at):
        if d.trigger != "addressed":
            assert d.at - last.get(d.guild_id, -1e9) >= 30
            last[d.guild_id] = d.at
    assert scenario.run() == decisions  # the same seed tells the same story


def test_cli_prints_every_decision_with_its_reason(capsys) -> None:
    assert cli.main(["scenario", "--hours", "1"]) == 0
    out = capsys.readouterr().out
    assert "miku-fan-cafe (bubbly) → join_conversation" in out
    assert "because the bot was addressed" in out and "because conversation has momentum" in out
