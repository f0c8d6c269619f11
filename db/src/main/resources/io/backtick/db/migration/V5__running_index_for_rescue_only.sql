-- The index of running jobs by runner serves the rescuer, hand-back at start and cancellation,
-- which all name a runner. Its predicate used to be only "state = 'running'", which every
-- statement that finishes jobs also says; when statistics (taken while few jobs ran) promised
-- one running row, the planner read the whole index and compared each row with every outcome
-- of the batch: a batch of 1,000 took 800 ms instead of 25. With "runner_id is not null" added,
-- only statements that name a runner can use it, and finishing goes by primary key.
-- [jooq ignore start]
drop index jobs_running_idx;
create index jobs_running_idx on jobs (runner_id) where state = 'running' and runner_id is not null;
-- [jooq ignore stop]
