"""``python -m sandbox.fal_sim --port 0``: serve a simulator until SIGINT/SIGTERM, printing its base URL."""

from sandbox.fal_sim.runner import main

main()
