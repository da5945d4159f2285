{{ config(tags=['finance', 'pii']) }}
select 1 as id
