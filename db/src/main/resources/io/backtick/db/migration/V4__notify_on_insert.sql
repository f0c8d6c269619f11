-- Wakes idle runners as soon as jobs are committed, instead of at their next poll. One notification
-- per insert statement (a bulk insert of 100,000 jobs is one), delivered at commit, on a channel
-- named after the queue's schema so queues in other schemas are not woken. Runners LISTEN on one
-- dedicated connection each; polling stays as the fallback.
-- [jooq ignore start]
create function backtick_notify_jobs_inserted() returns trigger
    language plpgsql as
$$
begin
    perform pg_notify('backtick_' || left(tg_table_schema, 50), '');
    return null;
end;
$$;

create trigger jobs_notify_inserted
    after insert on jobs
    for each statement
    execute function backtick_notify_jobs_inserted();
-- [jooq ignore stop]
