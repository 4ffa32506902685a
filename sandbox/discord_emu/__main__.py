"""``python -m sandbox.discord_emu --port 0``: serve an emulator until SIGINT/SIGTERM, printing its URLs as JSON."""

from sandbox.discord_emu.runner import main

main()
