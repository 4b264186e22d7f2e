"""The embedded local cloud and local tooling: simulated events (simevents), running Lambda
handlers in a Python process (invoke), without Docker or an AWS account."""
