"""Build the SAM template from a StackConfig, one module per concern; names.py makes every id."""
