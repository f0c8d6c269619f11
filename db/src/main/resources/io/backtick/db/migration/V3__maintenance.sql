-- A running job can be asked to stop: its runner sees this and records it cancelled when it returns.
alter table jobs add column cancel_requested_at timestamptz;

-- Housekeeping tasks shared by all runners (rescuing jobs of lost runners, pruning old jobs). Each
-- runs once per interval across every runner: the runner that moves next_run_at past now with a
-- compare-and-set is the one that runs it.
create table maintenance (
    task           text        not null,
    next_run_at    timestamptz not null default now(),
    last_run_at    timestamptz,
    last_runner    text,
    last_result    text
);

-- [jooq ignore start]
alter table maintenance add primary key (task);

-- Running jobs by the runner that holds them: the rescuer and cancellation read this.
create index jobs_running_idx on jobs (runner_id) where state = 'running';
-- [jooq ignore stop]
