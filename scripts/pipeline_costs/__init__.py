"""Tools around the dbt_pipeline_costs package: a seeded synthetic BigQuery JOBS generator
(`python -m pipeline_costs generate`) and its independently computed ground truth."""

__version__ = "0.5.0"
