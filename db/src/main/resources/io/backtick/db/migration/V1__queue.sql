-- The queue. Everything here is created in the schema Flyway migrates (default "backtick"),
-- so nothing is ever qualified by schema name: the runner and the client set search_path or
-- qualify by the configured schema themselves.

-- The life of a job. io.backtick.runner.queue.JobState mirrors this type and says which part of
-- the runner moves a job into and out of each state.
create type job_state as enum (
    'scheduled',
    'available',
    'running',
    'retryable',
    'completed',
    'discarded',
    'cancelled'
);

create table jobs (
    id             bigint generated always as identity primary key,
    worker         text        not null,
    queue          text        not null default 'default',
    args           jsonb       not null default '[]',
    state          job_state   not null default 'available',
    priority       integer     not null default 0,
    attempt        integer     not null default 0,
    max_attempts   integer     not null default 16,
    run_at         timestamptz not null default now(),
    created_at     timestamptz not null default now(),
    attempted_at   timestamptz,
    finalized_at   timestamptz,
    runner_id      text,
    errors         jsonb       not null default '[]',
    constraint jobs_worker_not_blank check (length(worker) > 0),
    constraint jobs_queue_not_blank check (length(queue) > 0),
    constraint jobs_max_attempts_positive check (max_attempts > 0),
    constraint jobs_attempt_not_negative check (attempt >= 0),
    -- A job carries a finalized_at exactly when it has reached an end state.
    constraint jobs_finalized_at_iff_final check (
        (state in ('completed', 'discarded', 'cancelled')) = (finalized_at is not null))
);

-- The defaults each worker declares (queue, priority, maximum attempts, timeout). Runners write
-- them when they start, so a client that knows only a worker's name enqueues with its defaults.
create table workers (
    name           text        not null,
    queue          text        not null,
    priority       integer     not null,
    max_attempts   integer     not null,
    timeout_ms     bigint,
    updated_at     timestamptz not null default now()
);

-- [jooq ignore start]
-- (Primary keys on text columns are declared here: jOOQ's DDL simulation cannot index text.)
alter table workers add primary key (name);

-- Claiming reads this index in order and stops after the batch: only available jobs are in it,
-- so its size follows the ready backlog, never the history of finished jobs.
create index jobs_claim_idx on jobs (priority desc, run_at, id) where state = 'available';

-- The stager finds scheduled and retryable jobs that have come due through this one.
create index jobs_due_idx on jobs (run_at) where state in ('scheduled', 'retryable');

-- Finding finished jobs to prune, by age.
create index jobs_finalized_idx on jobs (finalized_at) where finalized_at is not null;

-- The queue table is updated all the time: vacuum it far more eagerly than the default 20%.
alter table jobs set (autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.02,
                      autovacuum_vacuum_cost_delay = 1, fillfactor = 85);
-- [jooq ignore stop]
