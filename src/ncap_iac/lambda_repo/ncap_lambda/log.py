"""One structured JSON log line per decision a handler takes.

Lines carry names, keys and counts only: never a credential, a secret value or a presigned URL."""
import json
import logging


def get_logger(name):
    """A logger that emits INFO lines under the Lambda runtime's root handler."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    return logger


def log_decision(logger, decision, level=logging.INFO, **fields):
    """Log `{"decision": ..., **fields}` as a single JSON line."""
    line = {"decision": decision, **fields}
    logger.log(level, json.dumps(line, sort_keys=True, default=str))
