"""What a scaling policy costs, measured before it is deployed.

A job trace (when each job was submitted, for which lab, how long it ran) is played through a
deterministic model of the worker group: the queue, the CloudWatch alarms, EC2 Auto Scaling's step
scaling, the submit function's capacity requests, idle workers leaving, boot time and per-second
billing. The result is set against the lower bound (every job's run time at the instance's price)
so that policies can be compared side by side. trace reads job traces, workload makes synthetic
ones, policy holds the scaling settings, fleet the Spot group and warm pool, simulate plays a trace
(with group, alarms and result), plot draws it, and commands adds `ncap cost simulate`.
"""
