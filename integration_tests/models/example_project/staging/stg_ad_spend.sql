{{ config(tags=[]) }}
select 1 as id
