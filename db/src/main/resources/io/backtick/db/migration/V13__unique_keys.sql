-- A job may carry a key, unique among its worker's jobs that have not ended: an application that
-- enqueues "refresh account 42" whenever account 42 changes gets one such job waiting or running
-- at a time, not one per change. An enqueue whose key is taken by such a job inserts nothing and
-- answers with that job's id (io.backtick.api.BacktickClient); once the job has ended (completed,
-- discarded, cancelled) the key is free again. Jobs without a key, the common case, have no entry
-- in the index, so claims and completions of them write nothing more than before; a keyed job's
-- claim adds one entry, its end none. Running jobs hold their key as waiting ones do: every move a
-- runner makes (claim, retry, rescue, hand back, stage) keeps the job among the states below, so
-- none of them can meet a twin; with running jobs left out, a job that failed while a twin waited
-- would break this index in the completer's write. Only a retry by hand makes an ended job wait
-- again, and it checks for a holder first (io.backtick.runner.queue.MaintenanceQueue).
--
-- Adding the column changes no row (a nullable column without a default). Building the index reads
-- the whole table once while enqueues wait for it; on a queue that keeps millions of finished jobs
-- that is seconds.
alter table jobs add column unique_key text;
-- [jooq ignore start]
create unique index jobs_unique_key on jobs (worker, unique_key)
    where unique_key is not null and state in ('scheduled', 'available', 'running', 'retryable');
-- [jooq ignore stop]
