{{ config(tags=['marketing'], freshness={'build_after': {'count': 4, 'period': 'hour', 'updates_on': 'any'}}) }}
select 1 as id
