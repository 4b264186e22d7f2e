"""How hard the property-based tests try. `make test` runs them derandomized (the same examples
on every run, so that an outcome never depends on a random draw); `make fuzz` runs them with
random seeds and NCAP_FUZZ_FACTOR times as many examples. A failure fuzzing finds becomes an
explicit @example of its test."""
import os

from hypothesis import settings

FACTOR = max(1, int(os.environ.get("NCAP_FUZZ_FACTOR", "1")))
PROFILE = "fuzz" if os.environ.get("NCAP_FUZZ") else "ci"

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("fuzz", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(PROFILE)


def examples(count: int) -> int:
    """`count` examples in `make test`, FACTOR times as many in `make fuzz`."""
    return count * FACTOR
