"""Config stage: read stack_config.json, validate it, return a frozen StackConfig."""
from .load import load, load_document, validate_document

__all__ = ["load", "load_document", "validate_document"]
