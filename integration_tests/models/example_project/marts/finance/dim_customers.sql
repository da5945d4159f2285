{{ config(tags=['finance', 'pii'], freshness={'build_after': {'count': 12, 'period': 'hour', 'updates_on': 'any'}}) }}
select 1 as id
