-- singular test: returns no rows
select 1 as id where false
