"""The ack floor: a bare discord.py bot whose only command defers. Run as its own process by run.py."""

from __future__ import annotations

import os

import discord
import yarl
from discord import app_commands

discord.http.Route.BASE = os.environ["BARE_API_BASE"]
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["BARE_GATEWAY"])
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False

client = discord.Client(intents=discord.Intents(guilds=True))
tree = app_commands.CommandTree(client)


@tree.command(name="bare", description="defer only")
async def bare(interaction: discord.Interaction) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)


@client.event
async def on_ready() -> None:
    await tree.sync()


client.run(os.environ["BARE_TOKEN"], log_handler=None)
