{{ config(tags=['finance'], state={'lag_tolerance': {'count': 2, 'period': 'hour'}}) }}
select 1 as id
