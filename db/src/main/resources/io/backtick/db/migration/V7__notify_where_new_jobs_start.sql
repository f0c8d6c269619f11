-- The insert notification now says where in claim order the new jobs start: the highest priority
-- among the available jobs the statement inserted and the earliest run_at among them, in
-- microseconds since the epoch ('k <priority> <micros>'), or 'none' when it inserted no available
-- job. No inserted available job comes before that point in claim order (priority descending,
-- then run_at). A runner on a queue that keeps up claims from where its last claim ended rather
-- than from the head of the claim index, whose head keeps an entry for every job claimed since
-- the table was last vacuumed (with a week of finished jobs kept, up to some 800,000 of them at
-- 275 jobs/s, 5 ms a claim); the point in the notification tells it when new jobs lie before
-- that, as an enqueue that committed late does. Runners that read no payload wake as before.
-- [jooq ignore start]
create or replace function backtick_notify_jobs_inserted() returns trigger
    language plpgsql as
$$
declare
    top_priority integer;
    earliest timestamptz;
begin
    select max(priority), min(run_at) into top_priority, earliest from new_jobs where state = 'available';
    perform pg_notify('backtick_' || left(tg_table_schema, 50),
        case when top_priority is null then 'none'
             else 'k ' || top_priority || ' ' || (extract(epoch from earliest) * 1000000)::bigint end);
    return null;
end;
$$;

drop trigger jobs_notify_inserted on jobs;
create trigger jobs_notify_inserted
    after insert on jobs
    referencing new table as new_jobs
    for each statement
    execute function backtick_notify_jobs_inserted();
-- [jooq ignore stop]
