"""Benchmarks: the raw Kafka ceiling (`bench.ceiling`) and the pipeline end to end (`bench.pipeline`)."""
