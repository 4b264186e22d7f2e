"""ncap_iac: lab analysis pipelines on AWS, written as code.

Stages are pure and kept apart: config (load + validate) -> template (build) -> serialise.
Only ``deploy`` and ``local`` talk to AWS.
"""

__version__ = "0.1.0"
