{{ config(tags=['daily', 'finance'], freshness={'build_after': {'count': 1, 'period': 'day', 'updates_on': 'any'}}) }}
select 1 as id
