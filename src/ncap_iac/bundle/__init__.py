"""What ships to the workers' instances, built here from files (no AWS): the agent bundle (the
worker's own code and the pure-Python packages it needs, not the compiler) and the pipeline's
folders (its analysis code), each a reproducible zip stored under the SHA-256 of its bytes."""
