{{ config(tags=['marketing'], freshness={'build_after': {'count': 2, 'period': 'hour', 'updates_on': 'all'}}) }}
select 1 as id
