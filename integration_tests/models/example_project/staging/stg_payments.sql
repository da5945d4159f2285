{{ config(tags=['finance', 'staging']) }}
select 1 as id
