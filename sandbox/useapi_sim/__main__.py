"""``python -m sandbox.useapi_sim --port 0``: serve a simulator until SIGINT/SIGTERM, printing its base URL."""

from sandbox.useapi_sim.runner import main

main()
