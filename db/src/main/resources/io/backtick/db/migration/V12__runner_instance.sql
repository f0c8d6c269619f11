-- Each runner process marks its row with a token of its own, made when it starts. Two live
-- processes given the same runner id (one env file on two machines, a unit started twice) would
-- otherwise share one row: the later one handed back the earlier one's running jobs as it
-- started, and each then handed back the other's as jobs it ran but did not hold, so jobs ran
-- twice. Now a runner that finds its id's row beating under another token refuses to start, and
-- one whose row another process took over stops (io.backtick.runner.engine.Heartbeat). Rows of
-- runners older than this migration have none.
alter table runners add column instance text;
