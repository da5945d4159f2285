{{ config(tags=['finance'], freshness={'build_after': {'count': 6, 'period': 'hour', 'updates_on': 'any'}}) }}
select 1 as id
