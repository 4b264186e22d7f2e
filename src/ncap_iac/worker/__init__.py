"""The worker agent (`ncap worker`): the process on each instance of the worker group (locally, a
process of the local cloud) that turns queued jobs into results.

One module per concern: settings (options, checked), messages (the queue message contract),
placeholders (COMMAND -> argv, never a shell with values spliced in), status and status_store
(status.json transitions and conditional writes), storage (downloads, exactly-once uploads),
queue and heartbeat (SQS), runner (the command in its own process group), job (one message, in
order), agent (slots, signals, idle exit), notify (SNS), log (one JSON line per decision)."""
