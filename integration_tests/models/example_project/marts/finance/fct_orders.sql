{{ config(tags=['daily', 'finance']) }}
select 1 as id
