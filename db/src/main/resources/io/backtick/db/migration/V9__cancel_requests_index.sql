-- Every runner that has jobs running asks once a second which of them someone asked to cancel.
-- That question read the running-jobs index, which keeps an entry for every job a runner ran
-- since the oldest transaction still open anywhere in the database began: while one is held
-- open, each runner's question read every job it ran since, once a second (200,005 entries and
-- 5,546 heap pages, 10 ms, after 200,000 jobs; a second of it after an hour at a few thousand
-- jobs a second). This index holds only running jobs with a cancel request, so the question
-- reads those alone. Claims and completions of jobs nobody asked to cancel never write it.
-- [jooq ignore start]
create index jobs_cancel_requested_idx on jobs (runner_id) where state = 'running' and cancel_requested_at is not null;
-- [jooq ignore stop]
