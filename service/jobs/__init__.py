"""Durable jobs: the job table is the truth, executors only deliver job ids to task functions."""
