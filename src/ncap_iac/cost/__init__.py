"""What a scaling policy costs, measured before it is deployed.

Job traces (when each job was submitted, for which lab, how long it ran) are the input: trace reads
them from CSV files, workload makes synthetic ones shaped on NCAP's published runs.
"""
