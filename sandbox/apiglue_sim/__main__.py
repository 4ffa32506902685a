"""``python -m sandbox.apiglue_sim --port 0``: serve a simulator until SIGINT/SIGTERM, printing its base URL."""

from sandbox.apiglue_sim.runner import main

main()
