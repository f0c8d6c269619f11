-- Jobs made available by an update rather than an insert (a retry or a scheduled job staged when
-- its time comes, a lost runner's jobs rescued, jobs a stopping runner hands back) are announced
-- the way inserted ones are (V7): on the queue's channel, with where they start in claim order,
-- 'k <priority> <micros>'. Without it only the runner that staged them was woken, and every other
-- runner found them at its next look at the head of the claim index, which a transaction left
-- open anywhere in the database makes slower the longer it stays. The runner's statements that
-- make jobs available call this with the highest priority and the earliest run_at among them,
-- and the queue's schema (runners' sessions have it as their search path). The insert trigger
-- keeps its own copy of the payload (V7): it also runs for clients whose search path does not
-- name the queue's schema.
-- [jooq ignore start]
create function backtick_announce_available(queue_schema text, top_priority integer, earliest timestamptz)
    returns void
    language plpgsql as
$$
begin
    if top_priority is not null then
        perform pg_notify('backtick_' || left(queue_schema, 50),
            'k ' || top_priority || ' ' || (extract(epoch from earliest) * 1000000)::bigint);
    end if;
end;
$$;
-- [jooq ignore stop]
