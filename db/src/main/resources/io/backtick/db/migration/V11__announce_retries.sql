-- Retries are announced the way scheduled inserts are (V10): 's <micros>' on the queue's channel,
-- when the first of the retries a runner wrote falls due. Only that runner's stager knew of them
-- (its completer tells it), so when it stopped before they fell due, every other runner found them
-- at its next poll of the due jobs, up to a poll interval late. Now every listening runner's stager
-- stages them on time. The payload is V10's, so every runner that reads V10's reads this one.
-- [jooq ignore start]
create function backtick_announce_due(queue_schema text, first_due timestamptz)
    returns void
    language plpgsql as
$$
begin
    if first_due is not null then
        perform pg_notify('backtick_' || left(queue_schema, 50),
            's ' || (extract(epoch from first_due) * 1000000)::bigint);
    end if;
end;
$$;
-- [jooq ignore stop]
