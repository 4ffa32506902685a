"""The work pipeline: intake, the fair queue and scheduler, tracking upstream, finishing (no discord)."""
