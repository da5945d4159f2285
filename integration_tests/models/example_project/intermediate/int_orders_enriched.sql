{{ config(tags=['finance']) }}
select 1 as id
