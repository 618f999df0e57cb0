"""Privacy: the deployment secret that never enters Redis, and sealing state at rest with it."""
