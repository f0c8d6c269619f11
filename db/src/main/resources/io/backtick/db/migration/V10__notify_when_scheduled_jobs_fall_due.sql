-- The insert notification now also says when the first scheduled job among the inserted ones falls
-- due: 's <micros>' (microseconds since the epoch), after the 'k <priority> <micros>' of V7 when the
-- insert made jobs available too, or alone instead of 'none'. A runner's stager makes scheduled jobs
-- available at the time it read the next one was due, and that reading came before this insert: the
-- notification has it stage at the new job's time, not at its next poll, up to a poll interval late.
-- Runners built before this read the new payloads as unknown and look at the head of the claim
-- index for them, as they do for a payload they cannot read.
-- [jooq ignore start]
create or replace function backtick_notify_jobs_inserted() returns trigger
    language plpgsql as
$$
declare
    top_priority integer;
    earliest timestamptz;
    first_scheduled timestamptz;
    available text;
begin
    select max(priority) filter (where state = 'available'),
           min(run_at) filter (where state = 'available'),
           min(run_at) filter (where state = 'scheduled')
    into top_priority, earliest, first_scheduled
    from new_jobs;
    available := case when top_priority is null then null
                      else 'k ' || top_priority || ' ' || (extract(epoch from earliest) * 1000000)::bigint end;
    perform pg_notify('backtick_' || left(tg_table_schema, 50),
        case when first_scheduled is null then coalesce(available, 'none')
             else concat_ws(' ', available, 's', (extract(epoch from first_scheduled) * 1000000)::bigint) end);
    return null;
end;
$$;
-- [jooq ignore stop]
