-- Recurring and cron schedules, shared by every runner. Runners write the schedules their plugins
-- declare when they start; each tick becomes exactly one job, enforced by the unique index on
-- (schedule_name, schedule_tick) below, never by a lock held in a runner.
create table schedules (
    name           text        not null,
    kind           text        not null,
    spec           text        not null,
    zone           text        not null default 'UTC',
    missed         text        not null default 'run_once',
    paused         boolean     not null default false,
    -- The next tick to turn into a job. Runners advance it with a compare-and-set on its old value.
    next_run_at    timestamptz not null,
    last_run_at    timestamptz,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    constraint schedules_kind_known check (kind in ('interval', 'cron')),
    constraint schedules_missed_known check (missed in ('run_once', 'skip'))
);

-- A job a schedule created carries the schedule's name and the tick it is for.
alter table jobs add column schedule_name text;
alter table jobs add column schedule_tick timestamptz;

-- Live runners: each heartbeats; one whose heartbeat is old is gone.
create table runners (
    id             text        not null,
    host           text        not null,
    pid            bigint      not null,
    version        text        not null,
    workers        jsonb       not null default '[]',
    started_at     timestamptz not null default now(),
    heartbeat_at   timestamptz not null default now()
);

-- [jooq ignore start]
alter table schedules add primary key (name);
alter table runners add primary key (id);

-- One job per schedule tick, however many runners race to create it.
create unique index jobs_schedule_tick_key on jobs (schedule_name, schedule_tick) where schedule_name is not null;
-- [jooq ignore stop]
