"""The KPI rules of CONTRACT.md section 2: pure code, no Kafka, no clock reads, no globals.

The stream (`streams/`) and the `setupmon evaluate` command both call this package.
"""
