{{ config(tags=['marketing']) }}
select 1 as id
