{{ config(tags=['marketing', 'staging']) }}
select 1 as id
